"""The local Spark History Server: the Spark UI of every batch, after the batch (and Livy) ended.

Every driver Livy starts writes its Spark event log to the run dir's `spark-events/`
(SPARK_EVENT_LOG_DIR; `spark.eventLog.*` in livy/conf/spark-defaults.conf.template, the same for
CLUSTER=1: the drivers run in client mode on this machine). This module runs the project's own
pyspark's HistoryServer over that directory on 127.0.0.1:SPARK_HISTORY_PORT (default 18080;
the URL Dagster links to comes from dagster_livy/env.py `history_url`).

    python livy/livyctl.py history up|down|status

The server is marked with SPARK_HISTORY_RUN_DIR=<run dir> in its environment (not livyctl's
driver marker, so restarting Livy never stops it); `down` stops exactly the processes carrying
this run dir's mark. Standard library only.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import stackproc
from livyconf import StackError, stack_env

MAIN_CLASS = "org.apache.spark.deploy.history.HistoryServer"
MARKER = "SPARK_HISTORY_RUN_DIR"
HOST = "127.0.0.1"  # loopback only: the UI shows every application's SQL, config and environment


def port() -> int:
    try:
        return stack_env.history_port()
    except ValueError as exc:
        raise StackError(str(exc)) from None


def local_url() -> str:
    return f"http://{HOST}:{port()}"


def conf_file(layout) -> Path:
    return layout.run_dir / "history" / "history-server.conf"


def log_file(layout) -> Path:
    return layout.log_dir / "spark-history.out"


def version(url: str, timeout: float = 2.0) -> dict | None:
    """{"spark": "3.5.x"} if a History Server answers at `url`."""
    answer = stackproc.http_json(url + "/api/v1/version", timeout=timeout)
    return answer if isinstance(answer, dict) and "spark" in answer else None


def running(layout) -> list[stackproc.ProcInfo]:
    return stackproc.marked_processes(layout.run_dir, marker=MARKER)


def render_conf(layout, ui_port: int) -> Path:
    target = conf_file(layout)
    target.parent.mkdir(parents=True, exist_ok=True)
    layout.event_log_dir.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "# Rendered by livy/historyserver.py: the Spark History Server of this run dir.\n"
        f"spark.history.fs.logDirectory      {layout.event_log_dir.as_uri()}\n"
        f"spark.history.ui.port              {ui_port}\n"
        # New applications show up within seconds of their first event (default 10s).
        "spark.history.fs.update.interval   5s\n"
        # Application UIs kept in memory; older ones are replayed from their log when opened.
        "spark.history.retainedApplications 20\n")
    return target


def up(layout, java_home: str, wait_s: float = 60.0) -> None:
    """Start the History Server (or say it already runs); refuse a port someone else holds."""
    ui_port, url = port(), local_url()
    pid = stackproc.listener_pid(ui_port)
    info = stackproc.read_proc(pid) if pid else None
    if info and info.environ.get(MARKER) == str(layout.run_dir) and version(url):
        print(f"Spark History Server already running (pid {pid}) at {url}")
        return
    if stackproc.port_in_use(HOST, ui_port) or version(url, timeout=1.0):
        who = f"pid {pid}: {info.short()}" if info else (f"pid {pid}" if pid else "a process not visible from here")
        raise StackError(f"port {ui_port} on {HOST} (SPARK_HISTORY_PORT) is already in use by {who}; "
                         f"stop it or pick another port, e.g. SPARK_HISTORY_PORT={stackproc.free_port(HOST)}")
    leftovers = running(layout)  # started here but not answering: a stuck or half-dead server
    if leftovers:
        stackproc.stop_processes(leftovers)
    spark_class = Path(layout.spark_home()) / "bin" / "spark-class"
    conf = render_conf(layout, ui_port)
    env = {**os.environ,
           "JAVA_HOME": java_home,  # livyctl's one Java: spark-class runs $JAVA_HOME/bin/java
           "SPARK_HOME": layout.spark_home(),
           "SPARK_CONF_DIR": str(layout.spark_conf_dir),  # its log4j2.properties (warnings only)
           "SPARK_LOCAL_IP": HOST,  # the UI binds SPARK_LOCAL_IP, else every interface
           # Heap of the History Server JVM (Spark's default 1g); it replays one log at a time.
           "SPARK_DAEMON_MEMORY": os.environ.get("SPARK_DAEMON_MEMORY") or "512m",
           MARKER: str(layout.run_dir)}
    env.pop("LIVYCTL_RUN_DIR", None)
    log = log_file(layout)
    log.parent.mkdir(parents=True, exist_ok=True)
    if log.exists():
        log.replace(log.with_name(log.name + ".1"))
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(spark_class), MAIN_CLASS, "--properties-file", str(conf)],
                                cwd=layout.run_dir, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"the Spark History Server exited with status {proc.returncode} while starting. "
                             f"Last lines of {log}:\n{stackproc.log_tail(log, 40)}")
        answer = version(url)
        if answer:
            print(f"Spark History Server {answer['spark']} is up at {url} (pid {proc.pid})")
            print(f"  event logs: {layout.event_log_dir}; log: {log}")
            return
        time.sleep(0.5)
    stackproc.stop_processes([stackproc.ProcInfo(proc.pid, "spark-history")])
    raise StackError(f"the Spark History Server did not answer {url}/api/v1/version within {wait_s:.0f}s. "
                     f"Last lines of {log}:\n{stackproc.log_tail(log, 40)}")


def down(layout) -> bool:
    """Stop this run dir's History Server; True if one ran."""
    procs = running(layout)
    if not procs:
        return False
    stopped = stackproc.stop_processes(procs)
    print(f"Spark History Server stopped (pid {' '.join(str(p.pid) for p in stopped)})")
    return True


def status(layout) -> int:
    """0 if this run dir's History Server answers, 3 if not."""
    url = local_url()
    answer = version(url)
    procs = running(layout)
    if answer and procs:
        apps = stackproc.http_json(url + "/api/v1/applications?limit=1000") or []
        print(f"Spark History Server {answer['spark']} running at {url} (pid {procs[0].pid}): "
              f"{len(apps)} application(s) from {layout.event_log_dir}")
        return 0
    if answer:
        print(f"a Spark History Server answers at {url}, but not this run dir's ({layout.run_dir})")
        return 4
    print(f"Spark History Server is not running at {url}"
          + (f" (pid {procs[0].pid} alive but not answering)" if procs else " (`make up` starts it)")
          + f"; event logs are kept in {layout.event_log_dir}")
    return 3
