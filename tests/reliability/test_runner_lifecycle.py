"""No batch outlives its run, and a restarted Livy is survived, on the real stack (issue 7,
"holds today": a terminated run deletes its batch with no spark-submit left; a SIGTERM'd Livy is
detected and the batch resubmitted once with correct gold; a timeout deletes the batch).

Timings are measured and printed, never asserted (speed goals live in bench/); the waits below
are generous behavioural bounds only.
"""

from __future__ import annotations

import datetime as dt
import signal
import threading
import time

import dagster as dg
import pytest

from dagster_livy import BatchRunner, LivyClient, LivyState, LivyTimeoutError
from dagster_livy.bodies import build_batch_body
from dagster_livy.lakehouse.packaging import package_zip
from tests.conftest import processes_with, run_worker_with_running_batch, staged_sleeper, unique_name, wait_for
from tests.spark import oracle

from .conftest import SILVER_END

pytestmark = pytest.mark.integration


def test_terminated_dagster_run_deletes_its_batch_and_spark_submit(livy_stack, tmp_path):
    """SIGTERM to the run worker is how container run launchers terminate a run; Dagster turns it
    into an interrupt inside the step, and the resource deletes the batch before re-raising."""
    with run_worker_with_running_batch(livy_stack, tmp_path, "tests.integration.termination_job", "long_job",
                                       "long_running--") as worker:
        worker.proc.send_signal(signal.SIGTERM)
        terminated_at = time.monotonic()
        wait_for(lambda: worker.client.find_batch_by_name(worker.batch.name) is None, 60, "the batch to be deleted")
        deleted_s = time.monotonic() - terminated_at
        wait_for(lambda: not processes_with(worker.marker), 60, "spark-submit to exit")
        gone_s = time.monotonic() - terminated_at
    print(f"\nafter SIGTERM: batch deleted in {deleted_s:.2f} s, no spark-submit left after {gone_s:.2f} s "
          "(speed measured in bench/, section 2c)")
    output = worker.output()
    assert f"Deleted Livy batch {worker.batch.name}" in output, output[-3000:]
    runs = worker.runs()
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
