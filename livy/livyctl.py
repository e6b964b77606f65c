#!/usr/bin/env python3
"""Fetch, configure and run a local Apache Livy server (no Docker).

    python livy/livyctl.py jars     resolve the Livy jars from Maven Central (cached, idempotent)
    python livy/livyctl.py conf     render livy.conf / spark-defaults.conf from livy/conf/*.template
    python livy/livyctl.py cds      build the Spark drivers' class data sharing archive (idempotent;
                                    keyed to the JDK and the jars; docs/livy.md)
    python livy/livyctl.py up       start the LivyServer JVM in the background and wait for /version
    python livy/livyctl.py down     stop it (SIGTERM) and every driver it started, also after a crash
    python livy/livyctl.py status   say whether it runs, where, whose it is, and what it left behind
                                    (exit 0 running, 3 not running, 4 another server holds the port
                                    or this checkout's runs with another lakehouse/master/catalog)
    python livy/livyctl.py check    exit 0 if this checkout's Livy answers set up as asked, 3 if none
                                    does, 1 (with a message saying whose it is, or how it differs:
                                    lakehouse, Spark master, catalog) otherwise
    python livy/livyctl.py env      print the environment the server runs with (--json for tools)
    python livy/livyctl.py history up|down|status
                                    the Spark History Server over the drivers' event logs
                                    (127.0.0.1:SPARK_HISTORY_PORT, default 18080; status exits like
                                    Livy's); plain `down` stops it together with Livy

Everything lives under the repository root unless overridden by the environment:
LIVY_LOCAL_DIR (.livy: jars and, unless LIVY_RUN_DIR says otherwise, the running instance's conf,
logs, pid and staging dir), LAKEHOUSE_DIR (.lakehouse), LIVY_PORT (8998), LIVY_HOST (127.0.0.1),
LIVY_SPARK_MASTER (local[*]), LIVY_DIST (an unpacked Livy binary distribution to run instead of
the Maven-resolved server), PYTHON (the interpreter with pyspark; default .venv/bin/python),
SPARK_EVENT_LOG_DIR (<run dir>/spark-events), JAVA_HOME (else `java` on PATH: one Java, checked
and used for the server, its spark-submits and the History Server).

Before using or starting a server, `up` checks that what answers on the port is this checkout's
own (its LIVY_CONF_DIR, read from /proc), and stops drivers an earlier server of this run dir
left running (livy/stackproc.py). This file is the Livy process control; config rendering, the
exposure rule and the running server's setup: livy/livyconf.py; jars: livy/livyjars.py; the
History Server: livy/historyserver.py. Standard library only: this runs before the virtualenv
is complete.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIVY_DIR = Path(__file__).resolve().parent
REPO = LIVY_DIR.parent


# Sibling modules (config rendering, /proc inspection): importable however this file is loaded.
if str(LIVY_DIR) not in sys.path:
    sys.path.insert(0, str(LIVY_DIR))
import historyserver  # noqa: E402
import livyconf  # noqa: E402
import stackproc  # noqa: E402
from livyconf import (Layout, StackError, cmd_conf, render_values, running_setup,  # noqa: E402,F401
                      setup_mismatch, stack_env, wanted_setup)  # (re-exported)
from livyjars import check_server_classpath, cmd_jars, scala_versions  # noqa: E402,F401
MAIN_CLASS = "org.apache.livy.server.LivyServer"

# What bin/livy-server adds for Java 17: Livy and Hadoop reach into JDK internals.
JAVA17_FLAGS = [
    "-XX:+IgnoreUnrecognizedVMOptions",
    *(f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in (
        "java.lang.invoke", "java.lang", "java.nio", "java.util.concurrent.atomic",
        "sun.nio.ch", "java.net", "java.io", "sun.util.calendar")),
    *(f"--add-exports=java.base/{p}=ALL-UNNAMED" for p in (
        "sun.net.dns", "sun.net.util", "sun.security.x509", "sun.security.util")),
]


# ---------------------------------------------------------------- process control

def java_binary() -> str:
    """The one `java` of the stack: $JAVA_HOME/bin/java if JAVA_HOME is set, else `java` on PATH;
    refused below Java 17. The server is started with this very path and JAVA_HOME pointing at
    its home, so Livy's spark-submits and the History Server run the same Java."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        where = f"JAVA_HOME={home} has no bin/java" if home else "no `java` on PATH"
        raise StackError(f"Java is not installed ({where}; need Java 17: e.g. apt-get install openjdk-17-jdk-headless)")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        raise StackError(f"cannot read the Java version of {java} from: {out.strip()}")
    major = int(m.group(1)) if m.group(1) != "1" else int(m.group(2))
    if major < 17:
        raise StackError(f"Java {major} found at {java}; Livy here is launched with Java 17 module flags, install Java 17+")
    return java


def java_home(java: str) -> str:
    """The JAVA_HOME of a java binary (symlinks resolved: /usr/bin/java -> /usr/lib/jvm/...)."""
    return str(Path(os.path.realpath(java)).parent.parent)


def read_pid(layout: Layout) -> int | None:
    try:
        pid = int(layout.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if stackproc.alive(pid) else None


def fetch_version(url: str, timeout: float = 2.0) -> dict | None:
    return stackproc.http_json(url + "/version", timeout=timeout)


port_in_use = stackproc.port_in_use
free_port = stackproc.free_port
log_tail = stackproc.log_tail


# ---------------------------------------------------------------- whose server is it?

def write_state(layout: Layout, pid: int) -> None:
    """What this checkout's server is, for `status` and for other checkouts' messages."""
    layout.state_file.write_text(json.dumps({
        "pid": pid, "url": layout.url, "repo": str(REPO), "livy_home": str(layout.livy_home),
        "run_dir": str(layout.run_dir), "conf_dir": str(layout.conf_dir),
        "lakehouse_dir": str(layout.lakehouse_dir), "server_log": str(layout.server_log),
    }, indent=2) + "\n")


def is_ours(layout: Layout, info: stackproc.ProcInfo | None) -> bool:
    return bool(info) and info.environ.get("LIVY_CONF_DIR") == str(layout.conf_dir)


def foreign_owner(layout: Layout) -> str | None:
    """None if nothing listens on our port or our own server, set up as asked, does; else who it
    is (or how our own differs: lakehouse, Spark master, catalog) and what to do."""
    if not port_in_use(layout.host, layout.port) and not fetch_version(layout.url, timeout=1.0):
        return None
    pid = stackproc.listener_pid(layout.port)
    info = stackproc.read_proc(pid) if pid else None
    where = f"port {layout.port} on {layout.host}"
    if is_ours(layout, info):
        theirs = info.environ.get("LAKEHOUSE_DIR")
        if theirs and theirs != str(layout.lakehouse_dir):
            return (f"{where} is served by this checkout's Livy (pid {pid}), but it writes to lakehouse {theirs}, "
                    f"not LAKEHOUSE_DIR={layout.lakehouse_dir}: `make down` and start it again, or "
                    f"unset LAKEHOUSE_DIR")
        return setup_mismatch(running_setup(layout), wanted_setup(layout), pid)
    if info is None:
        who = (f"pid {pid}, whose environment cannot be read here" if pid
               else "a process not visible from here (another user, container or host)")
    elif "org.apache.livy.server.LivyServer" not in info.cmdline:
        who = f"pid {pid}, which is not a Livy server: {info.short()}"
    else:
        run_dir = Path(info.environ.get("LIVY_CONF_DIR", "?")).parent
        try:
            repo = json.loads((run_dir / "livy-server.json").read_text()).get("repo")
        except (OSError, ValueError):
            repo = None
        who = (f"another checkout's Livy: pid {pid}, LIVY_HOME={info.environ.get('LIVY_HOME', '?')}, "
               f"run dir {run_dir}, lakehouse {info.environ.get('LAKEHOUSE_DIR', '?')}"
               + (f", started from {repo}" if repo else ""))
        if repo and run_dir == Path(repo) / ".livy":
            fix = f"stop it there (cd {repo} && make down)"
        else:
            fix = (f"stop it there ({'cd ' + repo + ' && ' if repo else ''}LIVY_RUN_DIR={run_dir} "
                   f"LIVY_PORT={layout.port} make down)")
        return (f"{where} is already in use by {who}.\n  This checkout's server: run dir {layout.run_dir}, "
                f"lakehouse {layout.lakehouse_dir}.\n  Not using it: {fix}, or pick another port, "
                f"e.g. LIVY_PORT={free_port(layout.host)}")
    return (f"{where} is already in use by {who}.\n  This checkout's Livy (run dir {layout.run_dir}) is not running; "
            f"stop that process or pick another port, e.g. LIVY_PORT={free_port(layout.host)}")


def stop_leftovers(layout: Layout, why: str) -> list[int]:
    """Stop every process a livyctl server of this run dir started that still runs; say which."""
    procs = stackproc.marked_processes(layout.run_dir)
    if not procs:
        return []
    print(f"stopping {len(procs)} process(es) {why} (run dir {layout.run_dir}):")
    for p in procs:
        print(f"  {p.describe()}")
    stopped = stackproc.stop_processes(procs)
    print(f"stopped pids {' '.join(str(p.pid) for p in stopped)}")
    return [p.pid for p in stopped]


# ---------------------------------------------------------------- commands

def cmd_up(layout: Layout, wait_s: float = 90.0) -> None:
    livyconf.auth_conf(layout.host)  # the exposure rule first: refuse before touching anything
    foreign = foreign_owner(layout)
    if foreign:
        raise StackError(foreign)
    # Ours if the process listening on the port runs with this run dir's conf (pid file or not).
    pid = stackproc.listener_pid(layout.port)
    if pid and is_ours(layout, stackproc.read_proc(pid)) and fetch_version(layout.url):
        layout.pid_file.write_text(f"{pid}\n")
        print(f"Livy already running (pid {pid}) at {layout.url}")
        return
    java = java_binary()
    # A server of this run dir that died (kill -9, OOM) leaves its spark-submits running: they
    # would commit to the lakehouse beside the batches the new server resubmits.
    stop_leftovers(layout, "left running by an earlier Livy of this checkout")
    cmd_jars(layout)
    cmd_conf(layout)
    # LIVYCTL_RUN_DIR marks the server and every driver it launches (stackproc.marked_processes).
    env = {**os.environ, **layout.server_env(), "JAVA_HOME": java_home(java),
           stackproc.MARKER: str(layout.run_dir)}
    env.pop(historyserver.MARKER, None)
    home = layout.livy_home
    classpath = f"{home / 'jars'}/*:{layout.conf_dir}"
    cmd = [java, *JAVA17_FLAGS, *os.environ.get("LIVY_SERVER_JAVA_OPTS", "").split(),
           "-cp", classpath, MAIN_CLASS]
    layout.log_dir.mkdir(parents=True, exist_ok=True)
    # log4j writes the (size-bounded, rolling) server log; the JVM's own stdout/stderr receive
    # only what bypasses log4j (JVM errors), kept per start: this run's and the previous one.
    if layout.jvm_out.exists():
        layout.jvm_out.replace(layout.jvm_out.with_name(layout.jvm_out.name + ".1"))
    with open(layout.jvm_out, "ab") as out:
        # Own session: `down` can stop the server and every spark-submit it started as one group.
        proc = subprocess.Popen(cmd, cwd=layout.run_dir, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=reset_stop_signal)
    layout.pid_file.write_text(f"{proc.pid}\n")
    write_state(layout, proc.pid)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            layout.pid_file.unlink(missing_ok=True)
            raise StackError(f"Livy exited with status {proc.returncode} while starting. "
                             f"Last lines of {layout.jvm_out}:\n{log_tail(layout.jvm_out)}\n"
                             f"Last lines of {layout.server_log}:\n{log_tail(layout.server_log)}")
        version = fetch_version(layout.url)
        if version:
            print(f"Livy {version.get('version')} is up at {layout.url} (pid {proc.pid})")
            print(f"  server log: {layout.server_log}")
            print(f"  Spark master: {layout.master}; lakehouse: {layout.lakehouse_dir}")
            return
        time.sleep(0.5)
    raise StackError(f"Livy did not answer {layout.url}/version within {wait_s:.0f}s. "
                     f"Last lines of {layout.server_log}:\n{log_tail(layout.server_log)}")


def cmd_down(layout: Layout, wait_s: float = 30.0) -> None:
    pid = read_pid(layout)
    if pid and not is_ours(layout, stackproc.read_proc(pid)):
        pid = None  # a stale pid file whose number now belongs to another process
    if pid:
        # SIGTERM lets Livy stop its batches and sessions; then the group catches orphans.
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and stackproc.alive(pid):
            time.sleep(0.2)
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        print(f"Livy stopped (pid {pid})")
    # Drivers outside the group or left by a crashed server (re-parented, still running).
    left = stop_leftovers(layout, "started by this checkout's Livy and still running")
    layout.pid_file.unlink(missing_ok=True)
    if not pid and not left:
        print("Livy is not running")
    # The History Server of this run dir too: `down` leaves nothing of the stack running.
    historyserver.down(layout)


def cmd_status(layout: Layout) -> int:
    pid = read_pid(layout)
    version = fetch_version(layout.url)
    foreign = foreign_owner(layout) if version else None
    if foreign:
        print(foreign)
        return 4
    if version:
        print(f"Livy {version.get('version')} running at {layout.url}" + (f" (pid {pid})" if pid else ""))
        print(f"  run dir: {layout.run_dir}; lakehouse: {layout.lakehouse_dir}")
        setup = running_setup(layout)
        if setup:
            print(f"  Spark master: {setup['master']}; catalog: {setup['catalog']}")
        print(f"  server log: {layout.server_log}")
        return 0
    print(f"Livy is not running at {layout.url}" + (f" (pid {pid} alive but not answering)" if pid else ""))
    left = stackproc.marked_processes(layout.run_dir, exclude={pid} if pid else set())
    if left:
        print(f"  {len(left)} process(es) of an earlier server still run (`make down` stops them): "
              + ", ".join(str(p.pid) for p in left))
    return 3


def cmd_check(layout: Layout) -> int:
    """0: this checkout's Livy answers, set up as asked; 3: nothing answers (start it);
    1 (message): someone else's, or ours with another lakehouse, Spark master or catalog."""
    foreign = foreign_owner(layout)
    if foreign:
        raise StackError(foreign)
    return 0 if fetch_version(layout.url) else 3


def cmd_env(layout: Layout, as_json: bool) -> None:
    env = layout.server_env()
    if as_json:
        print(json.dumps(env, indent=2))
    else:
        for k, v in env.items():
            print(f"export {k}={json.dumps(v)}")


def reset_stop_signal() -> None:
    """In the Livy JVM's child before exec: SIGTERM back to its default action.

    An ignored signal stays ignored across exec, and the JVM then installs no handler for it. A
    Livy started from a shell or harness that ignores SIGTERM would pass that on to every
    spark-submit it starts, and Livy stops a batch (DELETE) with SIGTERM and then waits for the
    process: the DELETE would hang and block Livy's session manager (seen once in a test run).
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def cmd_cds(layout: Layout) -> None:
    """Build the Spark driver's class data sharing archive for this JDK and jar set, unless built
    (livyconf.cds_archive names it by both): spark_scripts/cds_warmup.py against a throwaway
    catalog, in a driver JVM that writes the classes it loaded at exit. Takes about a minute; the
    next `conf`/`up` renders it into every batch's driver options (SPARK_CDS=off: never)."""
    if livyconf.cds_mode() == "off":
        print("SPARK_CDS=off: no CDS archive built or rendered")
        return
    java = java_binary()
    cmd_jars(layout)
    spark_home = layout.spark_home()
    env = {**os.environ, "JAVA_HOME": java_home(java)}
    archive = livyconf.cds_archive(layout, spark_home, env)
    if archive.is_file():
        print(f"CDS archive up to date: {archive}")
        return
    archive.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="cds-", dir=archive.parent))
    try:
        # A throwaway local stack: its own run dir and SQLite catalog, local[*], no archive yet.
        conf_env = {**env, "LIVY_RUN_DIR": str(tmp / "run"), "LAKEHOUSE_DIR": str(tmp / "lakehouse"),
                    "SPARK_EVENT_LOG_DIR": str(tmp / "events"), "SPARK_CDS": "off"}
        for name in ("ICEBERG_DB_HOST", "LIVY_SPARK_MASTER", "SPARK_JVM_OPTIONS"):
            conf_env.pop(name, None)
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "conf"], env=conf_env, check=True,
                       stdout=subprocess.DEVNULL)
        run_env = {**conf_env, "SPARK_CONF_DIR": str(tmp / "run" / "spark-conf"), "SPARK_HOME": spark_home,
                   "PYSPARK_PYTHON": layout.python, "PYSPARK_DRIVER_PYTHON": layout.python,
                   "PYTHONPATH": str(REPO / "spark_scripts"), "SPARK_LOCAL_IP": "127.0.0.1"}
        dump = tmp / "archive.jsa"
        log = tmp / "warmup.log"
        print("building the Spark driver's CDS archive (one small gold run, about a minute) ...")
        with open(log, "w") as out:
            proc = subprocess.run(
                [os.path.join(spark_home, "bin", "spark-submit"), "--master", "local[*]",
                 "--conf", "spark.ui.enabled=false",
                 "--conf", f"spark.driver.extraClassPath={':'.join(livyconf.cds_classpath(layout, spark_home))}",
                 "--driver-java-options", f"-XX:ArchiveClassesAtExit={dump}",
                 str(REPO / "spark_scripts" / "cds_warmup.py")],
                env=run_env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if proc.returncode != 0 or not dump.is_file():
            raise StackError(f"the CDS warm-up failed (exit {proc.returncode}); nothing changes for the batches. "
                             f"Last lines of its output:\n{log_tail(log)}")
        dump.replace(archive)  # atomic: a driver starting now maps a whole archive or none
        rendered = layout.spark_conf_dir / "spark-defaults.conf"
        in_use = rendered.read_text() if rendered.is_file() else ""
        for old in archive.parent.glob("spark-driver-*.jsa"):
            if old == archive:
                continue
            if str(old) in in_use:  # a running server's drivers still map it: keep it until a restart
                print(f"kept {old.name}: the rendered spark-defaults still name it; restart Livy "
                      "(`make down up`) to use the new archive")
                continue
            old.unlink(missing_ok=True)  # stale: another JDK or jar set
        print(f"CDS archive built: {archive} ({archive.stat().st_size // 2**20} MiB); "
              "`livyctl.py conf`/`up` renders it for every batch's driver")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cmd_history(layout: Layout, action: str, wait_s: float = 90.0) -> int:
    """The Spark History Server of this run dir (livy/historyserver.py)."""
    if action == "up":
        historyserver.up(layout, java_home(java_binary()), wait_s)
    elif action == "down":
        if not historyserver.down(layout):
            print("Spark History Server is not running")
    else:
        return historyserver.status(layout)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["jars", "conf", "cds", "up", "down", "status", "check", "env", "history"])
    parser.add_argument("action", nargs="?", choices=["up", "down", "status"], help="history: what to do")
    parser.add_argument("--json", action="store_true", help="env: print JSON")
    parser.add_argument("--wait", type=float, default=90.0, help="up/down: seconds to wait")
    args = parser.parse_args(argv)
    layout = Layout.from_env()
    if args.command == "jars":
        cmd_jars(layout)
    elif args.command == "conf":
        cmd_conf(layout)
    elif args.command == "cds":
        cmd_cds(layout)
    elif args.command == "up":
        cmd_up(layout, args.wait)
    elif args.command == "down":
        cmd_down(layout, args.wait)
    elif args.command == "status":
        return cmd_status(layout)
    elif args.command == "check":
        return cmd_check(layout)
    elif args.command == "env":
        cmd_env(layout, args.json)
    elif args.command == "history":
        return cmd_history(layout, args.action or "status", args.wait)
    return 0


if __name__ == "__main__":
    sys.exit(main())
