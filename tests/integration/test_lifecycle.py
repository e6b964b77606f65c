"""Lifecycle against the real Livy: a terminated Dagster run and a Livy restart mid-batch."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from dagster_livy import BatchRunner, LivyClient, LivyState
from dagster_livy.bodies import build_batch_body
from tests.conftest import REPO, free_port, run_livyctl

pytestmark = pytest.mark.integration
SCRIPTS = Path(__file__).resolve().parent.parent / "livy_scripts"


def wait_for(predicate, timeout_s: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def running_batches(client: LivyClient, prefix: str):
    return [b for b in client.list_batches() if (b.name or "").startswith(prefix)
            and b.state in (LivyState.STARTING, LivyState.RUNNING)]


def test_terminated_dagster_run_deletes_its_batch_within_5s(livy_stack, tmp_path):
    """SIGTERM to the run worker is how container run launchers terminate a run; Dagster turns it
    into an interrupt inside the step, and the resource must delete the batch before re-raising."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "LIVY_URL": livy_stack.url,
           "TERMINATION_TEST_FILE": livy_stack.stage(SCRIPTS / "sleeper.py"), "PYTHONPATH": str(REPO)}
    log_path = tmp_path / "run.log"
    log_file = open(log_path, "w")  # a file, not a pipe: a full pipe would stall the run worker
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster", "job", "execute", "-m", "tests.integration.termination_job",
         "-j", "long_job"], env=env, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT)
    with LivyClient(livy_stack.url) as client:
        try:
            batch = wait_for(lambda: running_batches(client, "long_running--"), 120, "the batch to start")[0]
            wait_for(lambda: client.get_batch_state(batch.name) is LivyState.RUNNING, 60, "running state")
            proc.send_signal(signal.SIGTERM)
            terminated_at = time.monotonic()
            wait_for(lambda: client.find_batch_by_name(batch.name) is None, 5, "the batch to be deleted")
            assert time.monotonic() - terminated_at <= 5
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=60)
            log_file.close()
            output = log_path.read_text()
    assert f"Deleted Livy batch {batch.name}" in output, output[-3000:]
    instance = dg.DagsterInstance.from_config(str(home))
    runs = instance.get_runs()
    assert len(runs) == 1 and runs[0].status in (dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.FAILURE)


def test_livy_restart_mid_batch_resubmits_once(tmp_path):
    """Local-mode Livy forgets every batch on restart and reuses ids from 0: the runner tracks the
    batch by name, notices it is gone and resubmits it once."""
    ctl = {"LIVY_RUN_DIR": str(tmp_path / "run"), "LAKEHOUSE_DIR": str(tmp_path / "lh"),
           "LIVY_PORT": str(free_port())}
    run_livyctl(ctl, "up", "--wait", "120")
    url = f"http://127.0.0.1:{ctl['LIVY_PORT']}"
    try:
        staging = tmp_path / "run" / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        (staging / "sleeper.py").write_bytes((SCRIPTS / "sleeper.py").read_bytes())
        body = build_batch_body((staging / "sleeper.py").as_uri(), name="restart-me", args=["12"])
        outcome: dict = {}
        events: list[str] = []

        def run():
            with LivyClient(url, retries=2, backoff_s=0.2) as c:
                try:
                    outcome["result"] = BatchRunner(c, on_event=events.append).run(body)
                except BaseException as exc:  # surfaced by the assertion below
                    outcome["error"] = exc

        worker = threading.Thread(target=run)
        worker.start()
        with LivyClient(url) as c:
            wait_for(lambda: c.get_batch_state("restart-me") is LivyState.RUNNING
                     if c.find_batch_by_name("restart-me") else False, 120, "the batch to run")
        run_livyctl(ctl, "down")
        run_livyctl(ctl, "up", "--wait", "120")
        worker.join(timeout=240)
        assert not worker.is_alive()
        assert "error" not in outcome, outcome.get("error")
        result = outcome["result"]
        assert result.resubmitted and result.state is LivyState.SUCCESS
        assert any("resubmitting" in e for e in events)
    finally:
        run_livyctl(ctl, "down", check=False)
