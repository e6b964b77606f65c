"""No batch outlives its run, and a restarted Livy is survived, on the real stack (issue 7,
"holds today": a terminated run deletes its batch with no spark-submit left; a SIGTERM'd Livy is
detected and the batch resubmitted once with correct gold; a timeout deletes the batch).

Timings are measured and printed, never asserted (speed goals live in bench/); the waits below
are generous behavioural bounds only.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from dagster_livy import BatchRunner, LivyClient, LivyState, LivyTimeoutError
from dagster_livy.bodies import build_batch_body
from dagster_livy.lakehouse.packaging import package_zip
from tests.conftest import REPO, unique_name
from tests.spark import oracle

from .conftest import SILVER_END

pytestmark = pytest.mark.integration
SCRIPTS = REPO / "tests" / "livy_scripts"


def wait_for(predicate, timeout_s: float, what: str, every: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def processes_with(marker: str) -> list[str]:
    out = subprocess.run(["ps", "-eww", "-o", "pid=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eww" not in line]


def staged_sleeper(livy_stack, tmp_path: Path, tag: str) -> tuple[str, str]:
    """sleeper.py staged under a unique file name: the name finds its spark-submit in `ps`."""
    marker = unique_name(f"sleeper_{tag}").replace("-", "_")
    copy = tmp_path / f"{marker}.py"
    copy.write_bytes((SCRIPTS / "sleeper.py").read_bytes())
    return livy_stack.stage(copy), marker


def test_terminated_dagster_run_deletes_its_batch_and_spark_submit(livy_stack, tmp_path):
    """SIGTERM to the run worker is how container run launchers terminate a run; Dagster turns it
    into an interrupt inside the step, and the resource deletes the batch before re-raising."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    file, marker = staged_sleeper(livy_stack, tmp_path, "term")
    env = {**os.environ, "DAGSTER_HOME": str(home), "LIVY_URL": livy_stack.url,
           "TERMINATION_TEST_FILE": file, "PYTHONPATH": str(REPO)}
    log_path = tmp_path / "run.log"
    log_file = open(log_path, "w")  # a file, not a pipe: a full pipe would stall the run worker
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster", "job", "execute", "-m", "tests.integration.termination_job",
         "-j", "long_job"], env=env, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT)
    with LivyClient(livy_stack.url) as client:
        try:
            def running():
                return [b for b in client.list_batches() if (b.name or "").startswith("long_running--")
                        and b.state is LivyState.RUNNING]
            batch = wait_for(running, 180, "the batch to run", every=0.2)[0]
            wait_for(lambda: processes_with(marker), 60, "its spark-submit")
            proc.send_signal(signal.SIGTERM)
            terminated_at = time.monotonic()
            wait_for(lambda: client.find_batch_by_name(batch.name) is None, 60, "the batch to be deleted")
            deleted_s = time.monotonic() - terminated_at
            wait_for(lambda: not processes_with(marker), 60, "spark-submit to exit")
            gone_s = time.monotonic() - terminated_at
        finally:
            try:
                proc.wait(timeout=60)  # let the worker record the run's end
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=60)
            log_file.close()
            output = log_path.read_text()
    print(f"\nafter SIGTERM: batch deleted in {deleted_s:.2f} s, no spark-submit left after {gone_s:.2f} s "
          "(speed measured in bench/, section 2c)")
    assert f"Deleted Livy batch {batch.name}" in output, output[-3000:]
    runs = dg.DagsterInstance.from_config(str(home)).get_runs()
    assert len(runs) == 1 and runs[0].status in (dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.FAILURE)


def test_timeout_deletes_batch_and_kills_spark_submit(livy_stack, tmp_path):
    file, marker = staged_sleeper(livy_stack, tmp_path, "timeout")
    body = build_batch_body(file, name=marker.replace("_", "-"), args=["300"])
    with LivyClient(livy_stack.url) as client:
        with pytest.raises(LivyTimeoutError) as err:
            BatchRunner(client, max_wait_s=8).run(body)
        began = time.monotonic()
        assert client.find_batch_by_name(body["name"]) is None
    wait_for(lambda: not processes_with(marker), 30, "spark-submit to exit after the delete")
    print(f"\ngave up after {err.value.waited_s:.1f} s (limit 8 s); spark-submit gone "
          f"{time.monotonic() - began:.2f} s after the delete")


def test_sigtermed_livy_is_detected_and_the_gold_batch_resubmitted_once(livy_stack, reliability_lakehouse):
    """Local-mode Livy forgets every batch on restart and reuses ids from 0: the runner tracks
    the batch by name, notices it is gone and resubmits it once; the gold it writes is correct."""
    if not livy_stack.started_here:
        pytest.skip("restarts the server: only with the suite's own Livy")
    settings, catalog = reliability_lakehouse
    table = "gold.daily_sales_summary"
    name = unique_name("restart-gold")
    body = build_batch_body(settings.script("batch_sales_summary.py"), name=name, args=["--date", SILVER_END],
                            py_files=[package_zip(settings.staging_dir).as_uri()])
    outcome: dict = {}
    events: list[str] = []

    def run():
        with LivyClient(livy_stack.url, retries=2, backoff_s=0.2) as c:
            try:
                outcome["result"] = BatchRunner(c, on_event=events.append).run(body)
            except BaseException as exc:  # surfaced by the assertion below
                outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    with LivyClient(livy_stack.url) as c:
        wait_for(lambda: c.find_batch_by_name(name) and c.get_batch_state(name) is LivyState.RUNNING,
                 180, "the gold batch to run", every=0.2)
    began = time.monotonic()
    livy_stack.run("down")  # SIGTERM: Livy stops its batches and forgets them
    livy_stack.run("up", "--wait", "120")
    worker.join(timeout=300)
    assert not worker.is_alive()
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    print(f"\nrestart to success of the resubmitted batch: {time.monotonic() - began:.1f} s")
    assert result.resubmitted and result.state is LivyState.SUCCESS
    assert sum("resubmitting it once" in e for e in events) == 1
    assert oracle.compare_gold(catalog, dt.date.fromisoformat(SILVER_END), tables=(table,)) == {}
