"""Exit this Python driver when the spark-submit JVM that started it is gone.

In local and client mode spark-submit's JVM (Spark's PythonRunner) starts the Python driver as its
child and waits for it. `DELETE /batches/{id}` makes Livy kill that JVM, not the child: the driver
is reparented and runs on until it next writes to its closed stdout or calls Spark, so an idle or
pure-Python driver outlives its batch. `watch_parent()` starts a daemon thread that remembers
os.getppid() and, once the parent changes, says so on stderr and exits with PARENT_GONE_EXIT.

Only armed when a JVM launched this process (PythonRunner sets PYSPARK_GATEWAY_PORT for its
child; a `python script.py` that starts its own JVM, or a test calling the entry points in
process, has no such parent to lose). YARN cluster mode: the parent is the ApplicationMaster
JVM, whose death ends the driver's container anyway; Kubernetes: the pod's spark-submit JVM
under tini, same reasoning. In both the watchdog only ends sooner what is already ending.

Standard library only. A copy lives in dagster_livy/jupyter/launcher.py (`watch_parent`, the same code: tests/unit/test_parentwatch.py compares them): the kernel
launcher is staged as one file and may run without this package shipped (ship_packages is
configurable), and this package may not import dagster_livy (not on the driver); keep them alike.
"""

import os
import threading
import time

PARENT_GONE_EXIT = 4  # distinct from a script's own failures (1) and the kernel's idle exit (3)


def watch_parent(cleanup=None, interval_s: float = 0.5):
    """Start the watchdog thread (returns it), or None when no JVM launched this process.
    `cleanup()` runs, best effort, before the exit: keep it cheap and Spark-free (the JVM is gone)."""
    parent = os.getppid()
    if "PYSPARK_GATEWAY_PORT" not in os.environ or parent <= 1:
        return None

    def run() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        message = (f"spark-submit (pid {parent}) is gone: the batch was deleted or its JVM died; "
                   f"exiting the driver (pid {os.getpid()})\n")
        try:  # the JVM read our stderr: this pipe is most likely closed now
            os.write(2, message.encode())
        except OSError:
            pass
        try:
            if cleanup is not None:
                cleanup()
        finally:
            os._exit(PARENT_GONE_EXIT)

    thread = threading.Thread(target=run, name="spark-submit-watchdog", daemon=True)
    thread.start()
    return thread
