"""Shared fixtures: a real Livy server for the integration tests.

The session-scoped `livy_stack` starts the real LivyServer (livy/livyctl.py up) on a free loopback
port with its own run dir and lakehouse under pytest's tmp dir, so a developer's `make up` server
and lakehouse are never touched, and stops it (and every spark-submit it started) at the end.
Set LIVY_TEST_URL to run the integration tests against an already running server instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

# The harness, catalog, silver and metadata helpers' one home (shared with the demo and bench).
from dagster_livy.lakehouse.testing import LocalLivy, free_port, open_catalog  # noqa: F401  (re-exported)

REPO = Path(__file__).resolve().parent.parent
LIVYCTL = REPO / "livy" / "livyctl.py"
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
# Test speed only: C1-only JIT and the serial GC for every Spark JVM the tests start (the stacks'
# rendered spark-defaults, livy/livyconf.py jvm_options_conf; the in-process session of
# tests/spark). Test jobs are short and the suite is CPU-bound on two cores; a short job spent
# ~40% of its CPU in the C2 compiler (measured 12.3 -> 7.5 CPU s). Semantics are unchanged.
os.environ.setdefault("SPARK_JVM_OPTIONS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
# A developer's `make up`/`make bench` builds a CDS archive in .livy/cds that the test stacks would
# otherwise render (livyconf.cds_settings): tests run the same Spark config as a clean clone in CI.
os.environ.setdefault("SPARK_CDS", "off")


def run_livyctl(extra_env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = LocalLivy(LIVYCTL, dict(extra_env)).run(*args, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"livyctl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def livy_stack(tmp_path_factory) -> LocalLivy:
    remote = os.environ.get("LIVY_TEST_URL")
    if remote:
        yield LocalLivy.attach(LIVYCTL, remote)
        return
    local = LocalLivy.start(LIVYCTL, tmp_path_factory.mktemp("stack"))
    try:
        yield local
    finally:
        print(local.stop(strict=True))


# -- kernel batches (the kernel and notebook tests) ------------------------------------------
KERNEL_BATCH_PREFIX = "pyspark-livy--"  # dagster_livy.jupyter.KERNEL_NAME + "--"


def kernel_batches(livy) -> list:
    """Kernel batches Livy still lists (running or retained after their end); `livy` is a
    LivyClient or a server URL."""
    from dagster_livy.client import LivyClient

    if isinstance(livy, str):
        with LivyClient(livy) as client:
            return kernel_batches(client)
    return [b for b in livy.list_batches(size=1000) if (b.name or "").startswith(KERNEL_BATCH_PREFIX)]


# -- silver through the test Livy (pipeline, reliability and notebook tests) ----------------
def point_lakehouse_at(stack: LocalLivy, mp: pytest.MonkeyPatch) -> None:
    """Point the lakehouse settings (and a kernel a test starts) at the test Livy and lakehouse."""
    stack.point_lakehouse_at(mp.setenv)


def lakehouse_catalog(stack: LocalLivy):
    """pyiceberg's view of the test stack's SQLite catalog."""
    return open_catalog(stack.lakehouse_dir, env={})


def unique_name(prefix: str) -> str:
    """A batch or tag name no other test run uses (random, so no test reads the wall clock)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def generate_silver(stack: LocalLivy, start: str, end: str, *, page_views_per_day: int, seed: int,
                    dirty_share: float, label: str):
    """Deterministic silver for start..end, written by generate_silver.py as a real Livy batch
    (with the lakehouse settings already pointed at `stack`); returns the BatchResult."""
    from dagster_livy.lakehouse import testing
    from dagster_livy.lakehouse.settings import LakehouseSettings

    return testing.generate_silver(stack.url, LakehouseSettings.from_env(), start=start, end=end,
                                   page_views_per_day=page_views_per_day, seed=seed,
                                   dirty_share=dirty_share, name=unique_name(f"{label}-silver"))


# -- a Dagster run worker with a running batch (termination tests) --------------------------
def wait_for(predicate, timeout_s: float, what: str, every: float = 0.05):
    """predicate()'s first truthy value; AssertionError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def processes_with(marker: str) -> list[str]:
    """`ps` lines of the live processes whose command line holds `marker`."""
    out = subprocess.run(["ps", "-eww", "-o", "pid=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eww" not in line]


def staged_sleeper(stack: LocalLivy, tmp_path: Path, tag: str) -> tuple[str, str]:
    """tests/livy_scripts/sleeper.py staged under a unique file name (the marker, which finds its
    spark-submit in `ps`); returns (file URL, marker)."""
    marker = unique_name(f"sleeper_{tag}").replace("-", "_")
    copy = tmp_path / f"{marker}.py"
    copy.write_bytes((REPO / "tests" / "livy_scripts" / "sleeper.py").read_bytes())
    return stack.stage(copy), marker


@dataclass
class RunWorker:
    proc: subprocess.Popen
    client: object  # LivyClient on the stack
    batch: object  # the run's batch, seen RUNNING
    marker: str  # in its spark-submit's command line
    home: Path  # DAGSTER_HOME
    log_path: Path  # the worker's stdout and stderr

    def output(self) -> str:
        return self.log_path.read_text()

    def runs(self) -> list:
        import dagster as dg

        return dg.DagsterInstance.from_config(str(self.home)).get_runs()


@contextmanager
def run_worker_with_running_batch(stack: LocalLivy, tmp_path: Path, module: str, job: str, batch_prefix: str,
                                  **env: str):
    """`dagster job execute` of `job` in `module` (its own process, as a run worker is) against
    `stack`, the job's batch running a sleeper (TERMINATION_TEST_FILE); yields a RunWorker once the
    batch runs and its spark-submit is up. On exit the worker gets 60 s to record the run's end."""
    from dagster_livy import LivyClient, LivyState

    home = tmp_path / "dagster_home"
    home.mkdir()
    file, marker = staged_sleeper(stack, tmp_path, job)
    full_env = {**os.environ, "DAGSTER_HOME": str(home), "LIVY_URL": stack.url, "TERMINATION_TEST_FILE": file,
                "PYTHONPATH": str(REPO), **env}
    log_path = tmp_path / "run.log"
    # A file, not a pipe: a full pipe would stall the run worker.
    with open(log_path, "w") as log_file, LivyClient(stack.url) as client:
        proc = subprocess.Popen([sys.executable, "-m", "dagster", "job", "execute", "-m", module, "-j", job],
                                env=full_env, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            def running():
                return [b for b in client.list_batches() if (b.name or "").startswith(batch_prefix)
                        and b.state is LivyState.RUNNING]
            batch = wait_for(running, 180, "the batch to run", every=0.2)[0]
            wait_for(lambda: processes_with(marker), 60, "its spark-submit")
            yield RunWorker(proc, client, batch, marker, home, log_path)
        finally:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=60)
