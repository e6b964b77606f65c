"""The wheel and sdist: what they contain, and each layer installed on its own in a fresh venv.

- `pip install dagster-livy` is the REST client with `requests` only: it talks to an HTTP server
  (the scripted fake of tests/unit, running in this process) from a venv without Dagster.
- The Dagster layer in a fresh venv with only `[dagster]` (no Jupyter packages, no pyspark), the
  Jupyter layer in one with only `[jupyter]` (dagster and pyspark not installed at all).
- The lakehouse code location loads from the installed wheel in a third venv with Dagster, Jupyter
  and papermill (the `lakehouse` extra's pin) and nothing else of that extra (no pyspark, pyiceberg, pandas),
  finds the shipped Spark scripts and notebooks, and builds the pyFiles zip. (This is also the
  proof that the code location never imports pyspark: it is not installed there at all.) That
  every import of each layer is covered by its extra is checked statically in test_extras.py.
"""

from __future__ import annotations

import json
import tarfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.packaging.conftest import Dist, Venv
from tests.unit.http_fake import FakeLivy

pytestmark = pytest.mark.packaging

GOLD_SCRIPTS = sorted(p.name for p in (REPO / "spark_scripts").glob("*.py"))
JOBS_MODULES = sorted(p.name for p in (REPO / "spark_scripts" / "lakehouse_jobs").glob("*.py"))
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
SHIPPED = "dagster_livy/lakehouse/project"


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


def _extra(dist: Dist, extra: str) -> list[str]:
    """The requirements of `extra` as the wheel's METADATA states them."""
    with zipfile.ZipFile(dist.wheel) as zf:
        metadata = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    return [line.split(":", 1)[1].split(";")[0].strip() for line in metadata.splitlines()
            if line.startswith("Requires-Dist:") and f'extra == "{extra}"' in line]


@pytest.fixture(scope="module")
def venvs(dist, new_venv) -> dict[str, Venv]:
    """A fresh venv per layer, built concurrently (the installs mostly wait on the index and disk):
    `client` is `pip install dagster-livy` (the wheel alone), `dagster` has only `[dagster]`,
    `jupyter` only `[jupyter]`, `lakehouse` the two plus the `lakehouse` extra's papermill pin
    (what loading the code location needs beyond the layers). Installed by uv from its cache
    (conftest.Venv.uv_install): the four take about as long as pip took for one."""
    lakehouse = _extra(dist, "lakehouse")
    papermill = [r for r in lakehouse if r.startswith("papermill")]
    assert len(papermill) == 1 and any(r.startswith("pyspark") for r in lakehouse), lakehouse
    wanted = {"client": [str(dist.wheel)], "dagster": [f"{dist.wheel}[dagster]"],
              "jupyter": [f"{dist.wheel}[jupyter]"], "lakehouse": [f"{dist.wheel}[dagster,jupyter]", *papermill]}

    def build(name: str) -> tuple[Venv, float]:
        venv = new_venv(f"venv-{name}")
        return venv, venv.uv_install(*wanted[name])

    began = time.monotonic()
    with ThreadPoolExecutor(len(wanted)) as pool:
        built = dict(zip(wanted, pool.map(build, wanted)))
    for name, (_, secs) in built.items():
        print(f"\nFIGURE fresh venv + install {' '.join(Path(r).name for r in wanted[name])}: {secs:.1f}s")
    print(f"FIGURE the {len(built)} venvs, concurrently: {time.monotonic() - began:.1f}s")
    return {name: venv for name, (venv, _) in built.items()}


def test_client_alone_talks_to_a_livy_http_server_with_requests_only(venvs):
    venv = venvs["client"]
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


def test_dagster_layer_alone_without_jupyter_or_pyspark(venvs):
    venv = venvs["dagster"]
    installed = venv.installed()
    assert {"dagster", "dagster-pipes", "requests"} <= installed, installed
    assert not installed & {"pyspark", "py4j", "jupyter-client", "pyzmq", "papermill", "ipykernel"}, installed
    code = """
import importlib.util, sys
import dagster as dg
import dagster_livy
from dagster_livy.resource import LivyResource
from dagster_livy.pipes import PipesLivyClient
assert dagster_livy.LivyResource is LivyResource and dagster_livy.PipesLivyClient is PipesLivyClient
r = LivyResource(url="http://127.0.0.1:1")
assert isinstance(r, dg.ConfigurableResource)

@dg.asset
def table(context: dg.AssetExecutionContext, pipes_livy: PipesLivyClient):
    return pipes_livy.run(context=context, file="local:/jobs/table.py").get_materialize_result()

defs = dg.Definitions(assets=[table], resources={"pipes_livy": PipesLivyClient(livy=r)})
defs.get_repository_def()
assert isinstance(PipesLivyClient(livy=r), dg.PipesClient)
print(importlib.util.find_spec("pyspark"), importlib.util.find_spec("jupyter_client"),
      sorted(m for m in sys.modules if m.startswith(("dagster_livy.lakehouse", "dagster_livy.jupyter"))))
"""
    assert venv.py(code).stdout.split() == ["None", "None", "[]"]


def test_jupyter_layer_alone_without_dagster_or_pyspark(venvs):
    """The kernelspec installs into the venv and jupyter_client's provisioner factory builds the
    `livy-provisioner` for it (its entry point), with dagster and pyspark not installed at all."""
    venv = venvs["jupyter"]
    installed = venv.installed()
    assert {"jupyter-client", "pyzmq", "cryptography"} <= installed, installed
    assert not installed & {"dagster", "dagster-pipes", "pyspark", "py4j", "papermill"}, installed
    code = """
import importlib.util, json, sys
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.provisioning import KernelProvisionerFactory
from dagster_livy.jupyter.kernelspec import install
install()
spec = KernelSpecManager().get_kernel_spec("pyspark-livy")
provisioner = KernelProvisionerFactory.instance().create_provisioner_instance("k-1", spec, parent=None)
settings = provisioner.settings()
print(json.dumps({
    "spec_dir": spec.resource_dir, "provisioner": type(provisioner).__name__,
    "livy_url": settings.livy_url, "ship_packages": settings.ship_packages,
    "absent": [m for m in ("dagster", "dagster_pipes", "pyspark") if importlib.util.find_spec(m) is None],
    "loaded": sorted(m for m in sys.modules if m.split(".")[0] in {"dagster", "pyspark"}
                     or m.startswith("dagster_livy.lakehouse")),
}))
"""
    # HOME in the venv: no kernelspec of the user's can shadow the one installed here.
    env = {"LIVY_URL": "http://livy.test:8998", "HOME": str(venv.path),
           "XDG_DATA_HOME": str(venv.path / "xdg")}
    out = json.loads(venv.py(code, env=env).stdout.strip().splitlines()[-1])
    assert out["spec_dir"].startswith(str(venv.path)), out
    assert out["provisioner"] == "LivyProvisioner" and out["livy_url"] == "http://livy.test:8998", out
    assert out["ship_packages"] == ["lakehouse_jobs"], out
    assert out["absent"] == ["dagster", "dagster_pipes", "pyspark"] and out["loaded"] == [], out


def test_lakehouse_code_location_from_the_wheel_without_pyspark(venvs, tmp_path):
    """Loading the code location needs papermill beyond the two layers (the notebook assets), not
    pyspark (the Spark drivers need it, the code location must not): the definitions load, the
    shipped scripts and notebooks are found in site-packages, and the pyFiles zip is built from
    the installed lakehouse_jobs."""
    venv = venvs["lakehouse"]
    installed = venv.installed()
    assert {"dagster", "jupyter-client", "papermill"} <= installed, installed
    assert not installed & {"pyspark", "py4j", "pyiceberg", "pandas"}, installed

    code = f"""
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
    out = json.loads(venv.py(code).stdout.strip().splitlines()[-1])
    site = str(venv.path)
    assert out["scripts_dir"].startswith(site) and "site-packages" in out["scripts_dir"], out["scripts_dir"]
    assert out["scripts"] == GOLD_SCRIPTS and out["notebooks"] == NOTEBOOKS
    assert out["script_uri"] == Path(out["scripts_dir"], "generate_silver.py").as_uri()
    assert out["lakehouse_dir"] == str(venv.path / ".lakehouse")  # the cwd's, not the package's
    assert out["zip"] == [f"lakehouse_jobs/{m}" for m in JOBS_MODULES]
    assert out["jobs"] > 0
