"""The cluster stack's PostgreSQL server (livy/clusterctl.py).

Debian's PostgreSQL binaries (`make system-deps`), run on their own data dir and loopback port.
initdb and postgres refuse root, so as root they run as the package's `postgres` user (runuser).
Standard library only.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if str(Path(__file__).resolve().parent) not in sys.path:  # the sibling module, however loaded
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from stackproc import alive, http_json, port_in_use, write_private  # noqa: E402,F401  (re-exported)

if TYPE_CHECKING:
    from clusterctl import Cluster


class ClusterError(SystemExit):
    def __init__(self, message: str):
        super().__init__(f"clusterctl: {message}")


def pg_bindir() -> Path:
    """PostgreSQL's server binaries (Debian keeps them out of PATH, per major version)."""
    explicit = os.environ.get("PG_BINDIR")
    candidates = [explicit] if explicit else sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                                    key=lambda p: int(Path(p).parent.name), reverse=True)
    for c in candidates:
        if c and (Path(c) / "initdb").exists():
            return Path(c)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ClusterError("PostgreSQL server binaries not found (initdb): run `make system-deps` "
                       "(Debian: apt-get install postgresql), or set PG_BINDIR")


# ---------------------------------------------------------------- helpers

def wait_for(what: str, probe, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.5)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.exists() else "(no log)"
    raise ClusterError(f"{what} not healthy within {timeout_s:.0f}s; last lines of {log}:\n{tail}")


# ---------------------------------------------------------------- PostgreSQL

def _as_pg_user() -> list[str]:
    # initdb/postgres refuse root; Debian's package created the `postgres` system user.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _pg_owned(cluster: Cluster, path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def pg_ctl(cluster: Cluster, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [*_as_pg_user(), str(pg_bindir() / "pg_ctl"), "-D", str(cluster.pg_data), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
    if check and proc.returncode != 0:
        raise ClusterError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    return proc


def psql(cluster: Cluster, sql: str, *variables: tuple[str, str], db: str = "dagster") -> str:
    env = {**os.environ, "PGPASSWORD": cluster.password("dagster")}
    cmd = [str(pg_bindir() / "psql"), "-h", "127.0.0.1", "-p", str(cluster.pg_port), "-U", "dagster",
           "-d", db, "-v", "ON_ERROR_STOP=1", "-Atq"]
    # Variables go in on stdin (\set lines before the script), never on argv: /proc/*/cmdline is
    # world-readable and one of them is the iceberg role's password.
    script = "".join(f"\\set {name} '{_psql_quote(value)}'\n" for name, value in variables) + sql
    proc = subprocess.run(cmd, input=script, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ClusterError(f"psql on 127.0.0.1:{cluster.pg_port} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _psql_quote(value: str) -> str:
    # Inside a single-quoted psql meta-command argument: backslash and quote are escaped.
    return value.replace("\\", "\\\\").replace("'", "\\'")


def pg_healthy(cluster: Cluster) -> bool:
    proc = subprocess.run([str(pg_bindir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(cluster.pg_port),
                           "-d", "dagster", "-U", "dagster"], capture_output=True)
    return proc.returncode == 0


def pg_pid(cluster: Cluster) -> int | None:
    try:
        return int((cluster.pg_data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def pg_init(cluster: Cluster) -> None:
    """initdb on first use: superuser `dagster` (owns Dagster's database, as in compose) with a
    generated password; TCP on 127.0.0.1 only, password (scram) auth, no Unix socket."""
    data = cluster.pg_data
    data.parent.mkdir(parents=True, exist_ok=True)
    _pg_owned(cluster, data.parent)
    pwfile = data.parent / ".initpw"
    write_private(pwfile, cluster.password("dagster") + "\n")
    _pg_owned(cluster, pwfile)
    try:
        cmd = [*_as_pg_user(), str(pg_bindir() / "initdb"), "-D", str(data), "-U", "dagster",
               f"--pwfile={pwfile}", "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
        if proc.returncode != 0:
            raise ClusterError(f"initdb failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    finally:
        pwfile.unlink(missing_ok=True)
    print(f"PostgreSQL data directory created: {data}")


def pg_up(cluster: Cluster) -> None:
    fresh = not (cluster.pg_data / "PG_VERSION").exists()
    if fresh:
        pg_init(cluster)
    if not (pg_pid(cluster) and alive(pg_pid(cluster)) and pg_healthy(cluster)):
        if port_in_use("127.0.0.1", cluster.pg_port):
            raise ClusterError(f"port {cluster.pg_port} on 127.0.0.1 is already in use; pick another "
                               f"with ICEBERG_DB_PORT")
        cluster.pg_log.touch()
        _pg_owned(cluster, cluster.pg_log)
        opts = f"-c listen_addresses=127.0.0.1 -p {cluster.pg_port} -c unix_socket_directories='' -c max_connections=200"
        pg_ctl(cluster, "start", "-w", "-t", "60", "-l", str(cluster.pg_log), "-o", opts)
    wait_for("PostgreSQL", lambda: pg_healthy(cluster), 30, cluster.pg_log)
    if not psql(cluster, "SELECT 1 FROM pg_database WHERE datname = 'dagster'", db="postgres"):
        psql(cluster, "CREATE DATABASE dagster;\n", db="postgres")  # Dagster's runs, event logs, schedules
    if not psql(cluster, "SELECT 1 FROM pg_roles WHERE rolname = 'iceberg'"):
        # The Iceberg catalog's own role and database, as the compose init script makes them.
        psql(cluster, "CREATE ROLE :\"u\" LOGIN PASSWORD :'p';\nCREATE DATABASE :\"d\" OWNER :\"u\";\n",
             ("u", "iceberg"), ("p", cluster.password("iceberg")), ("d", "iceberg"))
    print(f"PostgreSQL up at 127.0.0.1:{cluster.pg_port} (pid {pg_pid(cluster)}; databases dagster, iceberg)")
