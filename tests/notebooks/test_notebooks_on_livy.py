"""The notebooks on the pyspark-livy kernel against the real local Livy: the papermill CLI from the
repo root for every notebook, parity with the batch scripts, and the notebook assets (success
metadata, a failing cell, a cell timeout) leaving no kernel batch behind.

Kernel starts are spark-submits: the three prototypes run once (module fixture) and every test
that needs gold shares those runs. Dates are fixed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import nbformat
import pytest
from pyiceberg.catalog.sql import SqlCatalog

from dagster_livy import BatchRunner, LivyClient
from dagster_livy.bodies import build_batch_body
from dagster_livy.jupyter.kernelspec import install
from dagster_livy.lakehouse.packaging import package_zip
from dagster_livy.lakehouse.settings import LakehouseSettings
from dagster_livy.notebooks import kernel_batch_tag, notebook_asset
from tests.conftest import KERNEL_BATCH_PREFIX as KERNEL_PREFIX, REPO, generate_silver, kernel_batches, lakehouse_catalog, point_lakehouse_at, unique_name

pytestmark = pytest.mark.integration
D0, D1 = "2026-02-28", "2026-03-01"  # silver for both; notebooks build D1 (D0 = the day before)
GOLD = ("gold.daily_customer_analytics", "gold.daily_sales_summary", "gold.product_performance_analytics")
DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")


def gold_rows(catalog: SqlCatalog, table: str, date: str) -> list[dict]:
    arrow = catalog.load_table(table).scan(row_filter=f"date = '{date}'").to_arrow()
    return sorted(arrow.to_pylist(), key=lambda r: tuple(str(v) for v in r.values()))


def snapshot_id(catalog: SqlCatalog, table: str) -> int:
    return catalog.load_table(table).current_snapshot().snapshot_id


def papermill_cli(name: str, out_dir: Path, date: str = D1) -> tuple[subprocess.CompletedProcess, Path]:
    """`papermill notebooks/<name>.ipynb out.ipynb -k pyspark-livy -p run_date D` from the repo root."""
    out = out_dir / f"{name}-{date}.ipynb"
    papermill = os.path.join(os.path.dirname(sys.executable), "papermill")
    proc = subprocess.run([papermill, f"notebooks/{name}.ipynb", str(out), "-k", "pyspark-livy",
                           "-p", "run_date", date], cwd=REPO, capture_output=True, text=True, timeout=600)
    return proc, out


def errors_in(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [f"{o.ename}: {o.evalue}" for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]


@pytest.fixture(scope="module")
def lakehouse(livy_stack):
    """Tiny silver for D0..D1 through Livy; the environment pointed at the test stack (the kernel
    reads LIVY_URL and LIVY_STAGING_DIR as a user's papermill would)."""
    install()
    mp = pytest.MonkeyPatch()
    point_lakehouse_at(livy_stack, mp)
    for var in [v for v in os.environ if v.startswith("LIVY_KERNEL_")]:
        mp.delenv(var)
    generate_silver(livy_stack, D0, D1, page_views_per_day=400, seed=5, dirty_share=0.1, label="notebooks")
    yield lakehouse_catalog(livy_stack)
    mp.undo()


@pytest.fixture(scope="module")
def notebook_gold(lakehouse, livy_stack, tmp_path_factory):
    """The three prototypes through the papermill CLI for D1: {table: (process, output, rows, snapshot)}."""
    out_dir = tmp_path_factory.mktemp("executed")
    runs = {}
    for table in GOLD:
        proc, out = papermill_cli(table.split(".")[1], out_dir)
        rows = gold_rows(lakehouse, table, D1) if proc.returncode == 0 else []
        runs[table] = (proc, out, rows, snapshot_id(lakehouse, table) if rows else None,
                       kernel_batches(livy_stack.url))
    return runs


@pytest.fixture(scope="module")
def script_gold(notebook_gold, lakehouse, livy_stack):
    """The batch scripts' entry point rewrites the same D1 partitions after the notebooks:
    {table: (rows, snapshot)}."""
    settings = LakehouseSettings.from_env()
    body = build_batch_body(livy_stack.stage(Path(__file__).with_name("gold_scripts_in_one_driver.py")),
                            name=unique_name("parity-scripts"), args=[D1],
                            py_files=[package_zip(settings.staging_dir).as_uri()])
    with LivyClient(livy_stack.url) as client:
        BatchRunner(client).run(body)
    return {t: (gold_rows(lakehouse, t, D1), snapshot_id(lakehouse, t)) for t in GOLD}


@pytest.mark.parametrize("table", list(GOLD))
def test_prototype_runs_with_papermill_cli_and_writes_the_rows_its_script_writes(
        table, notebook_gold, script_gold):
    proc, out, rows, nb_snapshot, leftover = notebook_gold[table]
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert not errors_in(out)
    assert leftover == [], f"kernel batches still listed after papermill: {leftover}"
    assert rows, f"the notebook wrote no {table} rows for {D1}"
    executed = nbformat.read(out, as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert f"GOLD {table} dates={D1}..{D1}" in text and "failed=" not in text

    # The batch scripts' code rewrote the same partition afterwards; the rows must be identical.
    script_rows, script_snapshot = script_gold[table]
    assert script_snapshot != nb_snapshot, "the script did not commit a new snapshot"
    assert script_rows == rows


def test_report_notebook_asset_keeps_the_executed_notebook_with_batch_links(
        notebook_gold, livy_stack, tmp_path, monkeypatch):
    assert all(r[0].returncode == 0 for r in notebook_gold.values()), "gold for the report is missing"
    monkeypatch.setenv("NOTEBOOK_OUTPUT_DIR", str(tmp_path))
    from dagster_livy.lakehouse.definitions import defs

    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("daily_business_report_job").execute_in_process(
        partition_key=D1, instance=instance, raise_on_error=False)
    assert result.success, [str(e.step_failure_data.error) for e in result.all_events if e.is_step_failure]
    (mat,) = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    md = {k: v.value for k, v in mat.metadata.items()}
    ipynb, html = Path(md["executed_notebook"]), Path(md["executed_notebook_html"])
    assert ipynb.is_relative_to(tmp_path) and ipynb.exists() and html.exists()
    assert md["parameters"]["run_date"] == D1 and not errors_in(ipynb)
    assert md["livy_batch_name"].startswith(KERNEL_PREFIX)
    assert md["livy_batch_url"] == f"{livy_stack.url}/batches/{md['livy_batch_id']}"
    assert md["livy_driver_log_url"].startswith(livy_stack.url) and md["spark_ui_url"].startswith("http")
    page = html.read_text()
    assert "Business report for 2026-03-01" in page and page.count("data:image/png") >= 3
    assert kernel_batches(livy_stack.url) == []
    logs = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any(m.startswith(f"kernel pyspark-livy is Livy batch {md['livy_batch_name']}") for m in logs)
    assert any("cell 7/7" in m and "done in" in m for m in logs), logs


def test_report_runs_with_papermill_cli(notebook_gold, livy_stack, tmp_path):
    proc, out = papermill_cli("daily_business_report", tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert not errors_in(out)
    assert kernel_batches(livy_stack.url) == []


def _scratch_notebook(path: Path, body: str) -> Path:
    params = nbformat.v4.new_code_cell('run_date = "2000-01-01"')
    params.metadata["tags"] = ["parameters"]
    cells = [params, nbformat.v4.new_code_cell(body), nbformat.v4.new_code_cell("print('never')")]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "pyspark-livy", "display_name": "PySpark on Livy", "language": "python"}
    nbformat.write(nb, path)
    return path


def _materialize(asset, instance) -> dg.ExecuteInProcessResult:
    return dg.materialize([asset], partition_key=D1, instance=instance, raise_on_error=False)


def _failure(result):
    (event,) = [e for e in result.all_events if e.is_step_failure]
    return event.step_failure_data


def test_failing_cell_fails_the_asset_with_that_cells_error(lakehouse, livy_stack, tmp_path):
    nb = _scratch_notebook(tmp_path / "failing.ipynb",
                           'assert spark.range(3).count() == 3  # on the batch\'s Spark\n'
                           'raise ValueError(f"no data for {run_date}")')
    asset = notebook_asset(nb, key="failing_notebook", partitions_def=DAILY,
                           output_dir=lambda: tmp_path / "out")
    instance = dg.DagsterInstance.ephemeral()
    result = _materialize(asset, instance)
    assert not result.success
    failure = _failure(result)
    text = str(failure.error)
    assert f"ValueError: no data for {D1}" in text and ("Traceback" in text or "Cell In[" in text), text
    md = {k: v.value for k, v in failure.user_failure_data.metadata.items()}
    assert md["ename"] == "ValueError" and md["evalue"] == f"no data for {D1}"
    assert md["livy_batch_name"].startswith(f"{KERNEL_PREFIX}{kernel_batch_tag(result.run_id, 'failing_notebook')}--")
    saved = Path(md["executed_notebook"])
    assert errors_in(saved) == [f"ValueError: no data for {D1}"]
    assert Path(md["executed_notebook_html"]).exists()
    assert "never" not in json.dumps(nbformat.read(saved, as_version=4).cells[-1].get("outputs", []))
    assert kernel_batches(livy_stack.url) == []
    logs = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any("FAILED" in m and "ValueError" in m for m in logs), logs


def test_cell_timeout_fails_the_asset_and_deletes_the_batch(lakehouse, livy_stack, tmp_path):
    nb = _scratch_notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(600)")
    asset = notebook_asset(nb, key="slow_notebook", partitions_def=DAILY, cell_timeout_s=5,
                           output_dir=lambda: tmp_path / "out")
    result = _materialize(asset, dg.DagsterInstance.ephemeral())
    assert not result.success
    md = {k: v.value for k, v in _failure(result).user_failure_data.metadata.items()}
    assert md["ename"] == "CellTimeoutError" and "5s" in md["evalue"]
    assert "CellTimeoutError: cell did not finish within 5s" in "\n".join(errors_in(Path(md["executed_notebook"])))
    assert kernel_batches(livy_stack.url) == []


def test_terminated_run_leaves_no_kernel_batch(lakehouse, livy_stack, tmp_path):
    """SIGTERM to the run worker mid-cell (how run launchers terminate a run): the kernel's batch
    is deleted, by the kernel's shutdown or by the asset's finally."""
    import signal
    import time

    nb = _scratch_notebook(tmp_path / "sleeping.ipynb", "import time\ntime.sleep(600)")
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "TERMINATION_NOTEBOOK": str(nb),
           "NOTEBOOK_OUTPUT_DIR": str(tmp_path / "out"), "PYTHONPATH": str(REPO)}
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log_file:  # a file, not a pipe: a full pipe would stall the run
        proc = subprocess.Popen(
            [sys.executable, "-m", "dagster", "job", "execute", "-m", "tests.notebooks.termination_job",
             "-j", "sleeping_notebook_job", "--tags", json.dumps({"dagster/partition": D1})],
            env=env, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 180
            while "cell 3/4 (#2) started: import time" not in log_path.read_text():
                assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
                time.sleep(0.5)
            started = kernel_batches(livy_stack.url)
            assert len(started) == 1, started
            proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 60
            while kernel_batches(livy_stack.url):
                assert time.monotonic() < deadline, f"kernel batch still listed: {kernel_batches(livy_stack.url)}"
                time.sleep(0.5)
            proc.wait(timeout=60)  # the run worker records the interrupted step, then exits
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=60)
    runs = dg.DagsterInstance.from_config(str(home)).get_runs()
    assert len(runs) == 1 and runs[0].status in (dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.FAILURE)


def test_cleanup_finds_a_kernel_batch_by_the_runs_tag(livy_stack):
    """A run interrupted while its kernel starts never learns the batch id; the batch's name
    carries the run's tag (LIVY_KERNEL_BATCH_TAG) and the cleanup deletes it by that."""
    from dagster_livy.notebooks import delete_kernel_batches

    sleeper = livy_stack.stage(REPO / "tests" / "livy_scripts" / "sleeper.py")
    tag = unique_name("run")
    name = f"{KERNEL_PREFIX}{tag}--0123abcd--{os.getpid()}"
    with LivyClient(livy_stack.url) as client:
        client.submit_batch(build_batch_body(sleeper, name=name, args=["300"]))
        other = client.submit_batch(build_batch_body(sleeper, name=f"{KERNEL_PREFIX}run-other--{os.getpid()}",
                                                     args=["300"]))
        try:
            lines = []
            assert delete_kernel_batches(None, livy_stack.url, tag, lines.append) == [name]
            assert client.find_batch_by_name(name) is None and any(name in line for line in lines)
            assert client.find_batch_by_name(other.name) is not None, "another run's batch was deleted"
        finally:
            client.delete_batch(other.name)
            client.delete_batch(name)
