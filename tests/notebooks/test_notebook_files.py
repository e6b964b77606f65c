"""The committed notebooks: clean (no outputs), parameterized, on the pyspark-livy kernel, and
built on the shared lakehouse_jobs functions rather than their own transformations."""

import json
from pathlib import Path

import pytest

from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
PROTOTYPES = ["daily_customer_analytics", "daily_sales_summary", "product_performance_analytics"]


def test_there_is_one_prototype_per_gold_table_and_the_report():
    assert {p.stem for p in NOTEBOOKS} == {*PROTOTYPES, "daily_business_report"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_or_execution_counts(path: Path):
    nb = json.loads(path.read_text())
    dirty = [i for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; clear them before committing"
    assert "papermill" not in nb["metadata"], f"{path.name} is an executed (papermill) copy"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameterized_with_run_date_on_the_pyspark_livy_kernel(path: Path):
    nb = json.loads(path.read_text())
    params = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, f"{path.name}: exactly one cell tagged `parameters`"
    names = {line.split("=")[0].strip() for line in "".join(params[0]["source"]).splitlines() if "=" in line}
    assert {"run_date", "catalog"} <= names, names
    assert nb["metadata"]["kernelspec"]["name"] == "pyspark-livy"


@pytest.mark.parametrize("name", PROTOTYPES)
def test_prototypes_build_and_write_through_the_pipeline_stages(name: str):
    source = "\n".join("".join(c["source"]) for c in json.loads((REPO / "notebooks" / f"{name}.ipynb")
                                                                .read_text())["cells"] if c["cell_type"] == "code")
    for call in ("pipeline.load_inputs(", "pipeline.build(", "pipeline.write_and_check("):
        assert call in source, f"{name}.ipynb does not call {call}..."
    assert ".writeTo(" not in source and "io.write" not in source, "write through write_and_check only"


def test_each_gold_script_is_main_gold_of_its_table():
    """What the parity test's one-driver runner (gold_scripts_in_one_driver.py) relies on."""
    scripts = {"batch_customer_analytics.py": "CUSTOMER_ANALYTICS", "batch_sales_summary.py": "SALES_SUMMARY",
               "product_performance_analytics.py": "PRODUCT_PERFORMANCE"}
    for script, const in scripts.items():
        source = (REPO / "spark_scripts" / script).read_text()
        main = source[source.index('if __name__ == "__main__":'):].split()
        assert main == ['if', '__name__', '==', '"__main__":', f"main_gold({const})"], (script, main)
        assert f"from lakehouse_jobs.contract import {const}" in source
