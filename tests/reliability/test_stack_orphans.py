"""Section 3 of issue 7: a SIGKILLed Livy leaves its spark-submit running; `up` and `down` stop it.

Real server (`own_livy`), real spark-submit running tests/livy_scripts/sleeper.py. The JVM is
killed with SIGKILL (no chance to stop its children), the drivers are shown to survive it, then
livyctl must find them by the run-dir marker, stop them, and name their pids.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.conftest import REPO
from tests.reliability.conftest import stackproc, submit, wait_driver

pytestmark = pytest.mark.integration
SLEEPER = REPO / "tests" / "livy_scripts" / "sleeper.py"


def crash_with_running_driver(own_livy, name: str) -> list:
    """Start a long batch, SIGKILL the server JVM; return the driver processes that survived."""
    own_livy.ensure_up()
    submit(own_livy, name, SLEEPER, "600")
    wait_driver(own_livy, "sleeper.py")
    jvm = own_livy.server_pid()
    os.kill(jvm, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while stackproc.alive(jvm) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not stackproc.alive(jvm), "the Livy JVM survived SIGKILL"
    time.sleep(1)
    survivors = stackproc.marked_processes(own_livy.run_dir)
    # The fact this issue is about: the server is gone, its spark-submit and driver are not.
    assert any("org.apache.spark.deploy.SparkSubmit" in p.cmdline for p in survivors), survivors
    assert own_livy.drivers("sleeper.py"), survivors
    assert all(p.pid != jvm for p in survivors)
    return survivors


def assert_stopped_and_named(survivors: list, output: str) -> None:
    for p in survivors:
        assert f"pid {p.pid}" in output, f"livyctl did not name orphan {p.pid}:\n{output}"
        assert not stackproc.alive(p.pid), f"orphan {p.describe()} still running"


def test_up_after_sigkill_stops_the_orphaned_drivers(own_livy):
    survivors = crash_with_running_driver(own_livy, "orphan-up")
    began = time.monotonic()
    out = own_livy.run("up", "--wait", "120")
    took = time.monotonic() - began
    assert_stopped_and_named(survivors, out.stdout)
    assert "left running by an earlier Livy" in out.stdout
    assert "spark-submit of batch orphan-up" in out.stdout, out.stdout
    # Only the new server remains of this run dir.
    remaining = stackproc.marked_processes(own_livy.run_dir)
    assert [p.pid for p in remaining] == [own_livy.server_pid()], [p.describe() for p in remaining]
    print(f"\nFIGURE up after SIGKILL: {len(survivors)} orphan processes "
          f"({', '.join(str(p.pid) for p in survivors)}) stopped and named; `up` took {took:.1f}s")


def test_down_after_sigkill_stops_every_driver(own_livy):
    survivors = crash_with_running_driver(own_livy, "orphan-down")
    out = own_livy.run("down")
    assert_stopped_and_named(survivors, out.stdout)
    assert stackproc.marked_processes(own_livy.run_dir) == []
    print(f"\nFIGURE down after SIGKILL: {len(survivors)} orphan processes stopped and named")


def test_down_stops_the_server_and_its_running_driver(own_livy):
    own_livy.ensure_up()
    submit(own_livy, "down-running", SLEEPER, "600")
    drivers = wait_driver(own_livy, "sleeper.py")
    jvm = own_livy.server_pid()
    began = time.monotonic()
    own_livy.run("down")
    took = time.monotonic() - began
    assert not stackproc.alive(jvm)
    assert stackproc.marked_processes(own_livy.run_dir) == []
    assert all(not stackproc.alive(p.pid) for p in drivers)
    print(f"\nFIGURE down with a running batch: server and {len(drivers)} driver process(es) gone "
          f"in {took:.1f}s")
