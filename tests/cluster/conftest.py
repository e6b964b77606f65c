"""One real Spark standalone cluster (master + 2 workers), PostgreSQL and Livy for the module.

Everything is started by the project's own tools (livy/clusterctl.py, livy/livyctl.py) on free
loopback ports, with state in a fresh temp dir (under /tmp, not pytest's 0700 tmp: as root the
PostgreSQL server runs as the `postgres` user and must reach its data dir), and always stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import LIVYCTL, REPO, LocalLivy, free_port

CLUSTERCTL = REPO / "livy" / "clusterctl.py"


def clusterctl(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(CLUSTERCTL), *args], env={**os.environ, **env, "PYTHON": sys.executable},
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"clusterctl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def free_port_pair() -> int:
    """A free port whose successor is free too (the two worker UIs)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no two consecutive free loopback ports")


@dataclass(frozen=True)
class ClusterStack:
    base: Path
    ctl_env: dict[str, str]     # what clusterctl/livyctl were started with (ports, dirs)
    settings: dict[str, str]    # `clusterctl env`: master URL, ICEBERG_DB_*, DAGSTER_PG_*
    livy: LocalLivy             # the tests' one Livy harness, started with the above

    @property
    def livy_env(self) -> dict[str, str]:
        """`livyctl env` + the above: what a client process needs."""
        return self.livy.env

    @property
    def master_ui(self) -> str:
        return f"http://127.0.0.1:{self.ctl_env['SPARK_MASTER_WEBUI_PORT']}"

    def worker_ui(self, n: int) -> str:
        return f"http://127.0.0.1:{int(self.ctl_env['SPARK_WORKER_WEBUI_PORT']) + n - 1}"

    @property
    def dagster_home(self) -> Path:
        return self.base / "dagster-home"

    def state(self) -> dict:
        return json.loads((self.base / "cluster" / "cluster.json").read_text())

    def clusterctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return clusterctl(self.ctl_env, *args, check=check)


@pytest.fixture(scope="module")
def cluster_stack() -> ClusterStack:
    base = Path(tempfile.mkdtemp(prefix="lakehouse-cluster-"))
    os.chmod(base, 0o755)
    ctl_env = {
        "LAKEHOUSE_CLUSTER_DIR": str(base / "cluster"),
        "SPARK_MASTER_PORT": str(free_port()),
        "SPARK_MASTER_WEBUI_PORT": str(free_port()),
        "SPARK_WORKER_WEBUI_PORT": str(free_port_pair()),
        "ICEBERG_DB_PORT": str(free_port()),
        "LIVY_RUN_DIR": str(base / "livy-run"),
        "LAKEHOUSE_DIR": str(base / "lakehouse"),
        "LIVY_PORT": str(free_port()),
    }
    livy = None
    try:
        clusterctl(ctl_env, "up")
        settings = json.loads(clusterctl(ctl_env, "env", "--json").stdout)
        livy = LocalLivy.start(LIVYCTL, base, **{**ctl_env, **settings})
        stack = ClusterStack(base=base, ctl_env=ctl_env, settings=settings, livy=livy)
        clusterctl({**ctl_env, **settings}, "dagster-yaml", str(stack.dagster_home))
        # The queued-runs test's daemon dequeues every second, not every 5 s (Dagster's default):
        # 30 runs at limit 3 are 10 waves, each waiting for the next dequeue. Test speed only.
        with open(stack.dagster_home / "dagster.yaml", "a") as yaml:
            yaml.write("run_coordinator:\n  module: dagster.core.run_coordinator\n  class: QueuedRunCoordinator\n"
                       "  config:\n    dequeue_interval_seconds: 1\n")
        # As `make dev`/`make demo` CLUSTER=1 do: the `livy` pool's limit on the instance before
        # runs start at once (dagster_livy/lakehouse/pools.py).
        pools = subprocess.run([sys.executable, "-m", "dagster_livy.lakehouse.pools"], cwd=REPO, capture_output=True,
                               text=True, env={**os.environ, **settings, "DAGSTER_HOME": str(stack.dagster_home)})
        assert pools.returncode == 0, pools.stdout + pools.stderr
        yield stack
    finally:
        try:
            if livy is not None:
                print(livy.stop(strict=True))
        finally:
            clusterctl(ctl_env, "down", check=False)
            shutil.rmtree(base, ignore_errors=True)
