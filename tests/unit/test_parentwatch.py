"""The parent watchdog (both copies: lakehouse_jobs.parentwatch for the Spark scripts, the kernel
launcher's own) on real processes, no Spark: a parent starts a child that arms the watchdog and
sleeps; when the parent is SIGKILLed the child must exit with PARENT_GONE_EXIT. The real-Livy
case (DELETE of a batch) is tests/integration/test_batches.py
(test_deleted_batch_ends_its_idle_driver_only_with_the_parent_watchdog)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, wait_for

COPIES = {
    "lakehouse_jobs": ("lakehouse_jobs.parentwatch", REPO / "spark_scripts"),
    "kernel launcher": ("dagster_livy.jupyter.launcher", REPO),
}

# The "spark-submit": starts the driver, prints its pid, then waits (killed by the test).
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]])
print(child.pid, flush=True)
time.sleep(600)
"""
# The "driver": arms the watchdog (with a marker file as its cleanup) and sleeps in pure Python.
CHILD = """
import os, pathlib, time
from {module} import watch_parent, PARENT_GONE_EXIT
armed = watch_parent(lambda: pathlib.Path({cleaned!r}).write_text(str(PARENT_GONE_EXIT)), interval_s=0.05)
assert armed is not None, "not armed"
pathlib.Path({ready!r}).write_text("armed")
time.sleep(600)
"""


def exit_status(pid: int) -> int | None:
    """The exit status of a process that is not our child: None while it runs. Reparented to
    init (or a subreaper), its status is not ours to wait for, so read /proc instead."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return -1  # gone (reaped)
    return -1 if state in ("Z", "X") else None


@pytest.mark.parametrize("copy", COPIES)
def test_driver_exits_when_its_parent_dies(copy, tmp_path):
    module, path = COPIES[copy]
    cleaned, ready = tmp_path / "cleaned", tmp_path / "ready"
    env = {**os.environ, "PYTHONPATH": f"{path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "PYSPARK_GATEWAY_PORT": "1"}  # what PythonRunner sets: "a JVM launched me"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD.format(module=module, cleaned=str(cleaned), ready=str(ready))],
                              env=env, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    try:
        wait_for(ready.exists, 30, f"driver {child} to arm its watchdog")
        assert exit_status(child) is None
        parent.kill()
        parent.wait()
        wait_for(lambda: exit_status(child) is not None, 30, f"driver {child} to exit after its parent")
        assert cleaned.read_text() == "4", "the cleanup did not run before the exit"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if exit_status(child) is None:
            os.kill(child, signal.SIGKILL)


@pytest.mark.parametrize("copy", COPIES)
def test_not_armed_without_a_jvm_parent(copy, monkeypatch):
    """A `python script.py` (pyspark starts its own JVM) or an in-process test has no JVM parent."""
    import importlib

    module, path = COPIES[copy]
    monkeypatch.syspath_prepend(str(path))
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    assert importlib.import_module(module).watch_parent() is None


def test_the_two_copies_are_the_same_code():
    """Two copies only because the launcher is staged as one file (see both docstrings): they
    must not drift apart. Compared without docstrings, comments and annotations."""
    import ast
    import importlib
    import sys as _sys

    def body(module_name: str, path) -> str:
        _sys.path.insert(0, str(path))
        try:
            module = importlib.import_module(module_name)
        finally:
            _sys.path.remove(str(path))
        tree = ast.parse(open(module.__file__).read())
        fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "watch_parent")
        if ast.get_docstring(fn):
            fn.body = fn.body[1:]
        fn.returns = None  # annotations may differ (the launcher avoids typing imports)
        for arg in fn.args.args:
            arg.annotation = None
        consts = {n.targets[0].id: ast.unparse(n.value) for n in tree.body
                  if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
                  and n.targets[0].id == "PARENT_GONE_EXIT"}
        return ast.unparse(fn) + repr(consts)

    bodies = {copy: body(*COPIES[copy]) for copy in COPIES}
    assert len(set(bodies.values())) == 1, bodies
