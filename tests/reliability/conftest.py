"""Fixtures of the reliability suite.

`own_livy` is a second real server beside the session's `livy_stack` (the same harness,
dagster_livy.lakehouse.testing.LocalLivy), with its own port, run dir and lakehouse under tmp,
and a tiny server-log size limit, for the cases that kill or restart a server. It is always
stopped at the end, and no process it started may outlive it.

`reliability_lakehouse` is a tiny silver on the session's real Livy. Its dates sit early in 2025
(partitions start 2025-01-01), away from the pipeline tests' fixed dates, so the two suites never
read or overwrite each other's partitions.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from dagster_livy.lakehouse.settings import LakehouseSettings

from tests.conftest import LIVYCTL, LocalLivy, generate_silver, lakehouse_catalog, point_lakehouse_at

HEADERS = {"X-Requested-By": "tests", "Content-Type": "application/json"}
# Small enough that one chatty batch rolls the server log several times.
LOG_MAX_KB = 16
LOG_BACKUPS = 2


@pytest.fixture(scope="package")
def own_livy(tmp_path_factory) -> LocalLivy:
    livy = LocalLivy.start(LIVYCTL, tmp_path_factory.mktemp("own-livy"),
                           LIVY_LOG_MAX_SIZE=f"{LOG_MAX_KB}KB", LIVY_LOG_BACKUPS=str(LOG_BACKUPS))
    try:
        yield livy
    finally:
        print(livy.stop(strict=True))


# livy/ scripts as livyctl itself loads them: stackproc (the run-dir marker, /proc readers),
# livyconf (rendered configuration).
stackproc = LocalLivy(LIVYCTL, {}).stackproc
livyconf = LocalLivy(LIVYCTL, {}).script_module("livyconf")


def submit(livy: LocalLivy, name: str, script: Path, *args: str) -> dict:
    """POST a batch of `script` (staged) straight to the server: no runner that would wait for
    it or delete it, so a test can kill the server under it."""
    body = {"file": livy.stage(script), "name": name, "args": list(args), "conf": {"spark.log.level": "WARN"}}
    resp = requests.post(f"{livy.url}/batches", json=body, headers=HEADERS, timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.json()


def wait_state(livy: LocalLivy, name: str, states: tuple[str, ...], timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch = requests.get(f"{livy.url}/batches/{name}", timeout=10).json()
        if batch.get("state") in states:
            return batch
        time.sleep(0.5)
    raise AssertionError(f"batch {name} not in {states} after {timeout_s}s")


def wait_driver(livy: LocalLivy, needle: str, timeout_s: float = 120) -> list:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = livy.drivers(needle)
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"no driver process with {needle!r} after {timeout_s}s")


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
