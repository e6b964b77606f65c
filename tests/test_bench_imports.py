"""`make bench` runs nowhere in `make test` (it is minutes of Spark); its modules must still import:
a name lost in a merge would otherwise surface only after the bench's Livy has started."""

import importlib

import pytest

# The bench package's own modules (floor.py and genbench.py are spark-submit scripts, not imported).
MODULES = ["cli", "context", "report", "runs", "stack", "charts", "gold", "polling", "scale", "kernel",
           "notebook", "generator", "backfill", "onebatch", "fixedcost"]


@pytest.mark.parametrize("name", MODULES)
def test_bench_module_imports(name):
    importlib.import_module(f"bench.{name}")


def test_every_section_is_registered_once():
    from bench import cli

    numbers = [int(n) for n in cli.ALL_SECTIONS.split(",")]
    assert numbers == list(range(1, len(numbers) + 1)) and set(cli.QUICK_SECTIONS.split(",")) <= set(cli.ALL_SECTIONS.split(","))
