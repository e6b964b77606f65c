"""Fixtures of the reliability suite.

`own_livy` is a second real server beside the session's `livy_stack`, with its own port, run dir
and lakehouse under tmp, and a tiny server-log size limit, for the cases that kill or restart a
server. It is always stopped (with every driver it started) at the end.

`reliability_lakehouse` is a tiny silver on the session's real Livy. Its dates sit early in 2025
(partitions start 2025-01-01), away from the pipeline tests' fixed dates, so the two suites never
read or overwrite each other's partitions.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from dagster_livy.lakehouse.settings import LakehouseSettings

from tests.conftest import REPO, free_port, generate_silver, lakehouse_catalog, point_lakehouse_at, run_livyctl

HEADERS = {"X-Requested-By": "tests", "Content-Type": "application/json"}
# Small enough that one chatty batch rolls the server log several times.
LOG_MAX_KB = 16
LOG_BACKUPS = 2


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "livy" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


stackproc = _load("stackproc")


@dataclass
class OwnLivy:
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['LIVY_PORT']}"

    @property
    def run_dir(self) -> Path:
        return Path(self.env["LIVY_RUN_DIR"])

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "logs"

    def livyctl(self, *args: str, check: bool = True):
        return run_livyctl(self.env, *args, check=check)

    def pid(self) -> int | None:
        try:
            return int((self.run_dir / "livy-server.pid").read_text())
        except (OSError, ValueError):
            return None

    def ensure_up(self) -> None:
        self.livyctl("up", "--wait", "120")

    def stage(self, script: Path) -> str:
        staging = self.run_dir / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        (staging / script.name).write_bytes(script.read_bytes())
        return (staging / script.name).as_uri()

    def submit(self, name: str, script: Path, *args: str) -> dict:
        body = {"file": self.stage(script), "name": name, "args": list(args),
                "conf": {"spark.log.level": "WARN"}}
        resp = requests.post(f"{self.url}/batches", json=body, headers=HEADERS, timeout=30)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def wait_state(self, name: str, states: tuple[str, ...], timeout_s: float = 180) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batch = requests.get(f"{self.url}/batches/{name}", timeout=10).json()
            if batch.get("state") in states:
                return batch
            time.sleep(0.5)
        raise AssertionError(f"batch {name} not in {states} after {timeout_s}s")

    def drivers(self, needle: str) -> list:
        """Python driver processes started by this server (the run-dir marker) running `needle`
        (not the spark-submit JVM, whose command line names the script too)."""
        return [p for p in stackproc.marked_processes(self.run_dir)
                if needle in p.cmdline and "org.apache.spark.deploy.SparkSubmit" not in p.cmdline]

    def wait_driver(self, needle: str, timeout_s: float = 120) -> list:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.drivers(needle)
            if found:
                return found
            time.sleep(0.3)
        raise AssertionError(f"no driver process with {needle!r} after {timeout_s}s")


@pytest.fixture(scope="package")
def own_livy(tmp_path_factory):
    base = tmp_path_factory.mktemp("own-livy")
    livy = OwnLivy(env={
        "LIVY_RUN_DIR": str(base / "run"),
        "LAKEHOUSE_DIR": str(base / "lakehouse"),
        "LIVY_PORT": str(free_port()),
        "LIVY_LOG_MAX_SIZE": f"{LOG_MAX_KB}KB",
        "LIVY_LOG_BACKUPS": str(LOG_BACKUPS),
    })
    try:
        livy.ensure_up()
        yield livy
    finally:
        out = livy.livyctl("down", check=False)
        print(out.stdout, out.stderr)
        # Nothing this server started may outlive the tests.
        left = stackproc.marked_processes(livy.run_dir)
        for p in left:
            stackproc.stop_processes([p], grace_s=1)
        assert not left, f"processes left after down: {[p.describe() for p in left]}"


def state_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "livy-server.json").read_text())


SILVER_START, SILVER_END = "2025-02-03", "2025-02-04"
NO_SILVER_DATE = "2025-02-10"  # inside the partitions, never generated


@pytest.fixture(scope="session")
def reliability_lakehouse(livy_stack):
    """Tiny silver (300 page views a day, 10 % dirty) for SILVER_START..SILVER_END, generated
    through the test Livy; the lakehouse settings point at that Livy while the suite runs."""
    mp = pytest.MonkeyPatch()
    point_lakehouse_at(livy_stack, mp)
    result = generate_silver(livy_stack, SILVER_START, SILVER_END, page_views_per_day=300, seed=11,
                             dirty_share=0.1, label="reliability")
    print(f"\ntiny silver generated in {result.duration_s:.1f} s")
    settings, catalog = LakehouseSettings.from_env(), lakehouse_catalog(livy_stack)
    try:
        yield settings, catalog
    finally:
        mp.undo()
