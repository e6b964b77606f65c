"""The pyspark-livy kernel on the real Livy, through jupyter_client as Jupyter and papermill use it.

One kernel goes through start -> execute -> interrupt (a sleeping cell, a running Spark job) ->
execute -> restart -> forced shutdown (the batch deleted: its driver process must exit too); then
a launcher that crashes, and a kernel whose Jupyter side is SIGKILLed. No batch of a kernel may
be left live.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from dagster_livy.errors import LivyBatchFailedError, LivyHTTPError
from dagster_livy.logs import strip_framing
from tests.conftest import wait_for
from tests.kernel.conftest import execute, live_kernel_batches, new_kernel_manager

pytestmark = pytest.mark.integration


def _interrupt_running_cell(km, kc, code: str, settle_s: float) -> dict:
    """Start `code`, interrupt it once it runs (message mode), return its execute_reply content."""
    # stop_on_error=False: after a cell fails, ipykernel aborts requests that reach it while it
    # is still tidying up (a race with a fast client sending the next cell), locally too.
    msg_id = kc.execute(code, stop_on_error=False)
    while True:  # the kernel has taken the cell once it echoes execute_input
        msg = kc.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
            break
    time.sleep(settle_s)  # let a Spark job get going
    km.interrupt_kernel()
    while True:
        reply = kc.get_shell_msg(timeout=120)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]


def _driver_of(livy_stack, batch: str) -> int | None:
    """The pid of the kernel driver (the launcher's Python) of `batch`; None for an attached server."""
    for p in livy_stack.drivers("pyspark-livy-launcher"):
        try:
            with open(f"/proc/{p.pid}/stat") as f:
                parent = livy_stack.stackproc.read_proc(int(f.read().rsplit(")", 1)[1].split()[1]))
        except OSError:  # exited since the listing (e.g. the kernel from before a restart)
            continue
        if parent and f"--name {batch}" in parent.cmdline:
            return p.pid
    assert not livy_stack.started_here, f"no driver process of kernel batch {batch}"
    return None


def test_kernel_lifecycle_on_livy(kernel_env, livy, livy_stack, tmp_path):
    km = new_kernel_manager()
    km.start_kernel(cwd=str(tmp_path))  # what Jupyter passes: the notebook's directory
    second, forced = None, False
    try:
        first = km.provisioner.batch_name
        assert livy.find_batch_by_name(first).state.value == "running"
        assert km.kernel_spec.interrupt_mode == "message"
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=120)

        reply, text = execute(kc, "spark.range(1000).count()")
        assert reply["status"] == "ok" and text == "1000"
        # The kernel is the batch's driver: same master, and lakehouse_jobs came as pyFiles.
        reply, text = execute(kc, "import lakehouse_jobs\nprint(sc.master, lakehouse_jobs.__file__)")
        master, path = text.split()
        assert master == "local[*]" and ".zip" in path, text
        # The driver runs on this machine, so the kernel works in the notebook's directory.
        reply, text = execute(kc, "import os; print(os.getcwd())")
        assert text.strip() == str(tmp_path)

        # The HMAC key and the CurveZMQ secret never reach Livy: not in the batch log, not in the
        # server log. The channels are encrypted (ipykernel would warn about plain TCP otherwise).
        key, curve_secret = km.session.key.decode(), km.curve_secretkey.decode()
        assert len(key) >= 32 and len(curve_secret) == 40
        batch_log = "\n".join(strip_framing(livy.get_batch_log(first, size=-1).lines))
        assert "with CurveZMQ; connection info sent (encrypted)" in batch_log  # we read the right log
        assert "without encryption" not in batch_log
        server_log = livy_stack.server_log.read_text(errors="replace")
        # This kernel's own launcher line (its ports) reached the server log: we read the right one.
        sent = next(line for line in batch_log.splitlines() if "connection info sent (encrypted)" in line)
        assert sent.strip() in server_log
        for secret in (key, curve_secret):
            assert secret not in batch_log and secret not in server_log

        interrupted = _interrupt_running_cell(km, kc, "import time\ntime.sleep(600)", 1.0)
        assert interrupted["status"] == "error" and interrupted["ename"] == "KeyboardInterrupt"
        interrupted = _interrupt_running_cell(
            km, kc, "spark.range(10**12).selectExpr('sum(id * id)').collect()", 3.0)
        assert interrupted["status"] == "error" and interrupted["ename"] == "KeyboardInterrupt"
        reply, text = execute(kc, "x = spark.range(10).count(); x")
        assert text == "10"
        # The interrupted job was cancelled, not left running in the shared driver. Spark's cancel is
        # asynchronous (the DAGScheduler ends the job on its own thread), so ask until it is gone;
        # a job left running (10**12 rows on two cores) would still be active after hours, not 30 s.
        reply, text = execute(kc, "import time\nfor _ in range(150):\n    ids = list(sc.statusTracker()"
                                  ".getActiveJobsIds())\n    if not ids:\n        break\n    time.sleep(0.2)\nprint(ids)")
        assert text.strip() == "[]"
        kc.stop_channels()

        km.restart_kernel()  # a new batch; the old one is deleted
        second = km.provisioner.batch_name
        assert second != first
        assert livy.find_batch_by_name(first) is None
        kc = km.client()  # the restarted kernel listens on new ports
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        reply, text = execute(kc, "print('x' in dir(), spark.range(3).count())")
        assert text.split() == ["False", "3"]
        kc.stop_channels()
        # A forced shutdown only DELETEs the batch: Livy kills spark-submit's JVM, not the kernel's
        # Python driver, which launcher.watch_parent must end (else it idles on for an hour).
        driver = _driver_of(livy_stack, second)
        km.shutdown_kernel(now=True)
        forced = True
        if driver:
            wait_for(lambda: not livy_stack.stackproc.alive(driver), 60, f"kernel driver {driver} to exit")
    finally:
        if not forced:
            km.shutdown_kernel()
    assert livy.find_batch_by_name(second or first) is None
    assert live_kernel_batches(livy) == []


def test_launcher_crash_fails_start_with_traceback(kernel_env, livy):
    km = new_kernel_manager()
    # 192.0.2.1 (TEST-NET-1) is no address of this host: the launcher cannot bind the kernel ports.
    env = {**kernel_env, "LIVY_KERNEL_IP": "192.0.2.1"}
    with pytest.raises(LivyBatchFailedError) as info:
        km.start_kernel(env=env)
    err = info.value
    assert err.state == "dead"
    assert "Traceback (most recent call last)" in str(err)
    assert "cannot bind the kernel ports to '192.0.2.1'" in str(err)
    assert "ended before the kernel answered" in "\n".join(getattr(err, "__notes__", []))
    assert livy.find_batch_by_name(err.batch_name) is None
    assert live_kernel_batches(livy) == []


def test_staging_dir_livy_may_not_read_fails_with_a_hint(kernel_env, livy, tmp_path):
    km = new_kernel_manager()
    with pytest.raises(LivyHTTPError) as info:
        km.start_kernel(env={**kernel_env, "LIVY_STAGING_DIR": str(tmp_path)})
    assert "cannot be added to user sessions" in str(info.value)
    assert "livy.file.local-dir-whitelist" in "\n".join(info.value.__notes__)
    assert livy.find_batch_by_name(info.value.batch_name) is None  # no zombie left holding the name


ORPHAN = """
import json, sys, time
from jupyter_client import KernelManager
km = KernelManager(kernel_name="pyspark-livy")
km.start_kernel()
print(json.dumps({"batch": km.provisioner.batch_name}), flush=True)
time.sleep(3600)
"""


def test_kernel_exits_after_idle_timeout_when_jupyter_side_dies(kernel_env, livy, tmp_path):
    idle_s = 8
    env = {**kernel_env, "LIVY_KERNEL_IDLE_TIMEOUT_S": str(idle_s), "LIVY_KERNEL_PING_INTERVAL_S": "2",
           "LIVY_KERNEL_BATCH_TAG": "orphan"}
    script = tmp_path / "orphan.py"
    script.write_text(ORPHAN)
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    name = None
    try:
        name = json.loads(proc.stdout.readline())["batch"]
        assert name.startswith("pyspark-livy--orphan--")  # the caller's tag finds the batch
        # While the Jupyter side lives, its pings keep the kernel alive past the idle timeout.
        time.sleep(idle_s + 4)
        assert livy.find_batch_by_name(name).state.value == "running"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 180
        while not (batch := livy.find_batch_by_name(name)).state.is_terminal:
            assert time.monotonic() < deadline, f"batch {name} still {batch.state.value}"
            time.sleep(2)
        assert batch.state.value == "dead"  # launcher.IDLE_EXIT
        log = "\n".join(strip_framing(livy.get_batch_log(name, size=-1).lines))
        assert f"(idle timeout {idle_s}s): stopping the kernel" in log
    finally:
        if proc.poll() is None:
            proc.kill()
        if name:
            livy.delete_batch(name)
    assert live_kernel_batches(livy) == []
