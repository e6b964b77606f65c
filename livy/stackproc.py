"""Which processes belong to a local Livy stack: the listener of a port, a server's identity, its drivers.

Read from /proc (Linux), standard library only: livy/livyctl.py loads this before the virtualenv
exists. Two questions are answered here:

- *Whose server answers on this port?* The pid listening on the port (from /proc/net/tcp{,6} and
  the socket inodes in /proc/<pid>/fd) and what it runs with (LIVY_HOME, LIVY_CONF_DIR,
  LAKEHOUSE_DIR from /proc/<pid>/environ), so `make up` / `make demo` can refuse someone else's.
- *Which drivers did a server of this run dir start?* livyctl starts the JVM with
  ``LIVYCTL_RUN_DIR=<run dir>`` in its environment only (not in `livyctl env`, so a shell that
  sourced that output is not mistaken for a driver); every spark-submit and Python driver it
  launches inherits the marker, also after the JVM was SIGKILLed and they were re-parented.

Also the small helpers livyctl.py and clusterctl.py/clusterpg.py share (liveness, ports, JSON
over HTTP, the default interpreter, private files): one home for each.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

MARKER = "LIVYCTL_RUN_DIR"
PROC = Path("/proc")


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    cmdline: str
    environ: dict[str, str] = field(default_factory=dict, repr=False)

    def short(self, width: int = 110) -> str:
        return self.cmdline if len(self.cmdline) <= width else self.cmdline[: width - 3] + "..."

    def describe(self) -> str:
        """pid, the kind of process and what it runs (the batch name for spark-submit), for messages."""
        if "org.apache.spark.deploy.SparkSubmit" in self.cmdline:
            # Livy passes the batch name as `--name <name>`; the Pipes args after it are long.
            name = re.search(r"\s--name\s+(\S+)", self.cmdline)
            return f"pid {self.pid} (spark-submit of batch {name.group(1) if name else '?'})"
        if "org.apache.livy.server.LivyServer" in self.cmdline:
            return f"pid {self.pid} (Livy server)"
        return f"pid {self.pid} (driver process: {self.short(90)})"


def read_proc(pid: int) -> ProcInfo | None:
    """The command line and environment of a live process, or None (gone, or not ours to read)."""
    try:
        raw_cmd = (PROC / str(pid) / "cmdline").read_bytes()
        raw_env = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return None
    environ = {}
    for item in raw_env.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            environ[key.decode(errors="replace")] = value.decode(errors="replace")
    return ProcInfo(pid, raw_cmd.replace(b"\0", b" ").decode(errors="replace").strip(), environ)


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) is not running anything.
    try:
        return (PROC / str(pid) / "stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def http_json(url: str, timeout: float = 2.0) -> dict | None:
    """The JSON a GET of `url` answers, or None (nothing answers, an error status, not JSON)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.load(resp)
    except (OSError, ValueError):  # urllib.error.URLError/HTTPError are OSErrors
        return None


def port_in_use(host: str, port: int) -> bool:
    """Whether something holds `port` on `host` (we cannot bind it)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def default_python(repo: Path) -> str:
    """The interpreter with pyspark: PYTHON, else the checkout's .venv, else this one."""
    venv = repo / ".venv" / "bin" / "python"
    return os.environ.get("PYTHON") or str(venv if venv.exists() else sys.executable)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds a password): created mode 600, never
    readable by others even for a moment; an existing file's mode is corrected first."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(fd, 0o600)
        f.write(text)


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN.
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    return inodes


def listener_pid(port: int) -> int | None:
    """The pid of the process listening on a TCP port of this host, or None if unknown."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{i}]" for i in inodes}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    return int(entry.name)
        except OSError:
            continue
    return None


def marked_processes(run_dir: Path, exclude: set[int] = frozenset(), marker: str = MARKER) -> list[ProcInfo]:
    """Every live process started by a livyctl server of `run_dir` (the server and its drivers);
    with another `marker`, the processes livyctl marked with it (the Spark History Server)."""
    want = str(run_dir)
    skip = set(exclude) | {os.getpid()}
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        info = read_proc(int(entry.name))
        if info and info.environ.get(marker) == want and alive(info.pid):
            found.append(info)
    return sorted(found, key=lambda p: p.pid)


def stop_processes(procs: list[ProcInfo], grace_s: float = 5.0) -> list[ProcInfo]:
    """SIGTERM, then SIGKILL what is left after `grace_s`. Returns the processes that were running."""
    running = [p for p in procs if alive(p.pid)]
    for p in running:
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(p.pid) for p in running):
        time.sleep(0.1)
    for p in running:
        if alive(p.pid):
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return running


def free_port(host: str) -> int | str:
    try:
        with socket.socket() as s:
            s.bind((host, 0))
            return s.getsockname()[1]
    except OSError:
        return "<a free port>"


def log_tail(path: Path, n: int = 50) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return f"(no log at {path})"
