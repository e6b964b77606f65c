"""Shared fixtures: a real Livy server for the integration tests.

The session-scoped `livy_stack` starts the real LivyServer (livy/livyctl.py up) on a free loopback
port with its own run dir and lakehouse under pytest's tmp dir, so a developer's `make up` server
and lakehouse are never touched, and stops it (and every spark-submit it started) at the end.
Set LIVY_TEST_URL to run the integration tests against an already running server instead.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

# The harness, catalog, silver and metadata helpers' one home (shared with the demo and bench).
from dagster_livy.lakehouse.testing import LocalLivy, free_port, open_catalog  # noqa: F401  (re-exported)

REPO = Path(__file__).resolve().parent.parent
LIVYCTL = REPO / "livy" / "livyctl.py"
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


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

