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
from dataclasses import dataclass
from pathlib import Path

import pytest

# The harness, catalog, silver and metadata helpers' one home (shared with the demo and bench).
from dagster_livy.lakehouse.testing import LocalLivy, free_port, open_catalog  # noqa: F401  (re-exported)

REPO = Path(__file__).resolve().parent.parent
LIVYCTL = REPO / "livy" / "livyctl.py"
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@dataclass(frozen=True)
class LivyStack:
    url: str
    env: dict[str, str]  # what the server runs with (LIVY_HOME, SPARK_CONF_DIR, LAKEHOUSE_DIR, ...)
    run_dir: Path | None
    started_here: bool

    @property
    def staging_dir(self) -> Path:
        return Path(self.env["LIVY_STAGING_DIR"])

    @property
    def lakehouse_dir(self) -> Path:
        return Path(self.env["LAKEHOUSE_DIR"])

    @property
    def server_log(self) -> Path:
        return Path(self.env["LIVY_LOG_DIR"]) / "livy-server.out"

    def pid(self) -> int | None:
        try:
            return int((self.run_dir / "livy-server.pid").read_text())
        except (OSError, TypeError, ValueError):
            return None

    def livyctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run_livyctl(self.ctl_env, *args, check=check)

    @property
    def ctl_env(self) -> dict[str, str]:
        return {k: self.env[k] for k in ("LIVY_RUN_DIR", "LIVY_PORT", "LAKEHOUSE_DIR") if k in self.env}

    def stage(self, path: Path) -> str:
        """Copy a local script into the whitelisted staging dir; return its file: URL."""
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        target = self.staging_dir / path.name
        target.write_bytes(path.read_bytes())
        return target.as_uri()


def run_livyctl(extra_env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = LocalLivy(LIVYCTL, dict(extra_env)).run(*args, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"livyctl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def livy_stack(tmp_path_factory) -> LivyStack:
    remote = os.environ.get("LIVY_TEST_URL")
    if remote:
        yield LivyStack(url=remote.rstrip("/"), env=dict(os.environ), run_dir=None, started_here=False)
        return
    local = LocalLivy.start(LIVYCTL, tmp_path_factory.mktemp("stack"))
    try:
        yield LivyStack(url=local.url, env=local.env, run_dir=local.run_dir, started_here=True)
    finally:
        local.stop()


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
def point_lakehouse_at(stack: LivyStack, mp: pytest.MonkeyPatch) -> None:
    """Point the lakehouse settings (and a kernel a test starts) at the test Livy and lakehouse."""
    for key in ("LIVY_URL", "LIVY_STAGING_DIR", "LAKEHOUSE_DIR"):
        mp.setenv(key, str(stack.env[key]))


def lakehouse_catalog(stack: LivyStack):
    """pyiceberg's view of the test stack's SQLite catalog."""
    return open_catalog(stack.lakehouse_dir, env={})


def unique_name(prefix: str) -> str:
    """A batch or tag name no other test run uses (random, so no test reads the wall clock)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def generate_silver(stack: LivyStack, start: str, end: str, *, page_views_per_day: int, seed: int,
                    dirty_share: float, label: str):
    """Deterministic silver for start..end, written by generate_silver.py as a real Livy batch
    (with the lakehouse settings already pointed at `stack`); returns the BatchResult."""
    from dagster_livy.lakehouse import testing
    from dagster_livy.lakehouse.settings import LakehouseSettings

    return testing.generate_silver(stack.url, LakehouseSettings.from_env(), start=start, end=end,
                                   page_views_per_day=page_views_per_day, seed=seed,
                                   dirty_share=dirty_share, name=unique_name(f"{label}-silver"))
