"""The wheel and sdist: what they contain, and each layer installed on its own in a fresh venv.

- `pip install dagster-livy` is the REST client with `requests` only: it talks to an HTTP server
  (the scripted fake of tests/unit, running in this process) from a venv without Dagster.
- The Dagster and Jupyter layers from their extras, pyspark absent; the Jupyter layer also with
  every `dagster` import refused.
- The lakehouse code location loads from the installed wheel with Dagster, Jupyter and papermill
  (the `lakehouse` extra's pin) and nothing else of that extra (no pyspark, pyiceberg, pandas),
  finds the shipped Spark scripts and notebooks, and builds the pyFiles zip. That every import of
  each layer is covered by its extra is checked statically in test_extras.py.
"""

from __future__ import annotations

import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.unit.http_fake import FakeLivy

pytestmark = pytest.mark.packaging

GOLD_SCRIPTS = sorted(p.name for p in (REPO / "spark_scripts").glob("*.py"))
JOBS_MODULES = sorted(p.name for p in (REPO / "spark_scripts" / "lakehouse_jobs").glob("*.py"))
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
SHIPPED = "dagster_livy/lakehouse/project"

# Refuses the named top-level modules, as if they were not installed (the layer must not need them).
BLOCK = """
import sys
class _Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ImportError(f'{{name}} is refused in this test (the layer must not import it)')
sys.meta_path.insert(0, _Refuse())
"""


def test_wheel_ships_the_scripts_the_jobs_package_and_the_notebooks(dist):
    names = set(zipfile.ZipFile(dist.wheel).namelist())
    assert {f"{SHIPPED}/spark_scripts/{s}" for s in GOLD_SCRIPTS} <= names
    assert {f"lakehouse_jobs/{m}" for m in JOBS_MODULES} <= names
    assert {f"{SHIPPED}/notebooks/{n}" for n in NOTEBOOKS} <= names
    # The shipped files are the repository's, byte for byte.
    with zipfile.ZipFile(dist.wheel) as zf:
        for s in GOLD_SCRIPTS:
            assert zf.read(f"{SHIPPED}/spark_scripts/{s}") == (REPO / "spark_scripts" / s).read_bytes(), s
    # Nothing of the checkout's tooling or state.
    assert not [n for n in names if n.split("/")[0] in {"tests", "bench", "livy", ".livy", ".lakehouse"}]
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [line for line in zipfile.ZipFile(dist.wheel).read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist:")]
    base = [r for r in requires if "extra ==" not in r]
    assert [r.split()[1].split(">")[0].split("<")[0].split("=")[0] for r in base] == ["requests"], base
    with tarfile.open(dist.sdist) as tf:
        members = {m.split("/", 1)[1] for m in tf.getnames() if "/" in m}
    assert {f"spark_scripts/{s}" for s in GOLD_SCRIPTS} <= members
    assert {f"notebooks/{n}" for n in NOTEBOOKS} <= members


def test_client_alone_talks_to_a_livy_http_server_with_requests_only(dist, new_venv):
    venv = new_venv("venv-client")
    secs = venv.pip_install(str(dist.wheel))
    print(f"\nFIGURE fresh venv + `pip install dagster-livy` (wheel, requests only): {secs:.1f}s")
    installed = venv.installed()
    assert "requests" in installed
    assert not installed & {"dagster", "pyspark", "pyiceberg", "papermill", "jupyter-client", "ipykernel"}, installed

    batch = {"id": 3, "name": "pkg-client", "owner": None, "proxyUser": None, "state": "starting",
             "appId": None, "appInfo": {}, "log": []}
    with FakeLivy() as fake:
        fake.add("POST", "/batches", 201, batch)
        fake.add("GET", "/batches/pkg-client", 200, {**batch, "state": "success"})
        fake.add("GET", "/batches/nope", 404, {"msg": "Session 'nope' not found."})
        code = f"""
import json, sys
from dagster_livy import LivyClient, LivyNotFoundError
from dagster_livy.bodies import build_batch_body
with LivyClient({fake.url!r}) as client:
    submitted = client.submit_batch(build_batch_body("file:///tmp/x.py", name="pkg-client"))
    ended = client.get_batch("pkg-client")
    try:
        client.get_batch("nope")
        missing = "no error"
    except LivyNotFoundError as exc:
        missing = str(exc)
print(json.dumps({{"submitted": submitted.state.value, "ended": ended.state.value, "missing": missing,
                  "dagster": "dagster" in sys.modules}}))
"""
        out = json.loads(venv.py(code).stdout.strip().splitlines()[-1])
        posted = fake.calls("POST", "/batches")
    assert out["submitted"] == "starting" and out["ended"] == "success", out
    assert "nope" in out["missing"] and "404" in out["missing"], out
    assert out["dagster"] is False
    assert [r.json for r in posted] == [{"file": "file:///tmp/x.py", "name": "pkg-client"}]


@pytest.fixture(scope="module")
def layers_venv(dist, new_venv):
    """The Dagster and Jupyter extras (one venv: installing Dagster costs most of the time)."""
    venv = new_venv("venv-layers")
    secs = venv.pip_install(f"{dist.wheel}[dagster,jupyter]")
    print(f"\nFIGURE fresh venv + `pip install dagster-livy[dagster,jupyter]`: {secs:.1f}s")
    return venv


def test_dagster_layer_without_pyspark(layers_venv):
    assert "pyspark" not in layers_venv.installed()
    code = """
import importlib.util, sys
import dagster as dg
import dagster_livy
from dagster_livy.resource import LivyResource
import dagster_livy.pipes
assert dagster_livy.LivyResource is LivyResource and dagster_livy.PipesLivyClient
r = LivyResource(url="http://127.0.0.1:1")
assert isinstance(r, dg.ConfigurableResource)
print(importlib.util.find_spec("pyspark"), sorted(m for m in sys.modules if m.startswith("dagster_livy.lakehouse")))
"""
    assert layers_venv.py(code).stdout.split() == ["None", "[]"]


def test_jupyter_layer_without_dagster_or_pyspark(layers_venv):
    code = BLOCK.format(blocked=("dagster", "pyspark", "dagster_pipes")) + """
import importlib.metadata as m
import dagster_livy.jupyter.provisioner, dagster_livy.jupyter.kernelspec, dagster_livy.jupyter.launcher
from dagster_livy.jupyter.settings import KernelSettings
(ep,) = [e for e in m.entry_points(group="jupyter_client.kernel_provisioners") if e.name == "livy-provisioner"]
print(ep.load().__name__)
"""
    assert layers_venv.py(code).stdout.split() == ["LivyProvisioner"]


def test_lakehouse_code_location_from_the_wheel_without_pyspark(dist, layers_venv, tmp_path):
    """Loading the code location needs papermill beyond the two layers (the notebook assets), not
    pyspark (the Spark drivers need it, the code location must not): the definitions load, the
    shipped scripts and notebooks are found in site-packages, and the pyFiles zip is built from
    the installed lakehouse_jobs."""
    requires = layers_venv.py(
        "import importlib.metadata as m; print('\\n'.join(m.distribution('dagster-livy').requires))").stdout
    lakehouse = [r.split(";")[0].strip() for r in requires.splitlines() if "extra == \"lakehouse\"" in r]
    papermill = [r for r in lakehouse if r.startswith("papermill")]
    assert len(papermill) == 1 and any(r.startswith("pyspark") for r in lakehouse), lakehouse
    secs = layers_venv.pip_install(*papermill)
    print(f"\nFIGURE + {papermill[0]}: {secs:.1f}s")
    assert not layers_venv.installed() & {"pyspark", "pyiceberg", "pandas"}

    code = BLOCK.format(blocked=("pyspark", "py4j")) + f"""
import json, sys, zipfile
from pathlib import Path
from dagster_livy.lakehouse.definitions import defs
from dagster_livy.lakehouse.settings import LakehouseSettings, SCRIPTS_DIR, NOTEBOOKS_DIR
from dagster_livy.lakehouse.packaging import package_zip
defs.get_repository_def()
s = LakehouseSettings.from_env({{}})
zip_path = package_zip(Path({str(tmp_path / "staging")!r}))
print(json.dumps({{
    "scripts_dir": str(SCRIPTS_DIR), "scripts": sorted(p.name for p in SCRIPTS_DIR.glob("*.py")),
    "notebooks": sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb")),
    "script_uri": s.script("generate_silver.py"), "lakehouse_dir": str(s.lakehouse_dir),
    "zip": sorted(zipfile.ZipFile(zip_path).namelist()), "jobs": len(list(defs.jobs or [])),
}}))
"""
    out = json.loads(layers_venv.py(code).stdout.strip().splitlines()[-1])
    site = str(layers_venv.path)
    assert out["scripts_dir"].startswith(site) and "site-packages" in out["scripts_dir"], out["scripts_dir"]
    assert out["scripts"] == GOLD_SCRIPTS and out["notebooks"] == NOTEBOOKS
    assert out["script_uri"] == Path(out["scripts_dir"], "generate_silver.py").as_uri()
    assert out["lakehouse_dir"] == str(layers_venv.path / ".lakehouse")  # the cwd's, not the package's
    assert out["zip"] == [f"lakehouse_jobs/{m}" for m in JOBS_MODULES]
    assert out["jobs"] > 0
