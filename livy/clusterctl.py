#!/usr/bin/env python3
"""A real Spark standalone cluster and a PostgreSQL server on this machine, as processes.

    python livy/clusterctl.py up       start PostgreSQL (initdb on first use), a Spark master and
                                       two workers; wait until each is healthy
    python livy/clusterctl.py down     stop them (workers, master, PostgreSQL)
    python livy/clusterctl.py status   every process with its URL and health (exit 0 all healthy,
                                       3 nothing runs, 1 something is down)
    python livy/clusterctl.py env      the settings Livy, Dagster and pyiceberg use to reach it
                                       (`eval "$(clusterctl.py env)"`; --json for tools)
    python livy/clusterctl.py dagster-yaml DIR
                                       write DIR/dagster.yaml for the catalog in use: SQLite
                                       storage and default pool limit 1 without ICEBERG_DB_HOST,
                                       PostgreSQL storage and limit LIVY_POOL_LIMIT (3) with it

`make up CLUSTER=1` runs `up` and then starts Livy with LIVY_SPARK_MASTER and the ICEBERG_DB_*
settings from `env`: the same variable names as docker-compose.yml (docs/cluster.md).

State lives in LAKEHOUSE_CLUSTER_DIR (default .cluster/): the PostgreSQL data dir, generated
passwords (secrets/, mode 600, never committed), logs, worker dirs and cluster.json (ports, pids).
Ports: SPARK_MASTER_PORT (7077), SPARK_MASTER_WEBUI_PORT (8080), SPARK_WORKER_WEBUI_PORT (8081:
worker N gets 8080+N), ICEBERG_DB_PORT (5433: not 5432, which a system PostgreSQL may hold).
PostgreSQL comes from Debian's `postgresql` package (`make system-deps`); initdb refuses to run as
root, so as root the server runs as the package's `postgres` user (runuser): livy/clusterpg.py.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

LIVY_DIR = Path(__file__).resolve().parent
REPO = LIVY_DIR.parent
if str(LIVY_DIR) not in sys.path:  # the sibling module, however this file is loaded
    sys.path.insert(0, str(LIVY_DIR))
from clusterpg import ClusterError, pg_ctl, pg_healthy, pg_pid, pg_up, wait_for  # noqa: E402
from stackproc import alive, default_python, http_json, port_in_use  # noqa: E402
WORKERS = 2
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
DEFAULT_POOL_LIMIT_POSTGRES = 3


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name) or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ClusterError(f"{name} must be a port number, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class Cluster:
    dir: Path
    master_port: int
    master_ui_port: int
    worker_ui_base: int
    pg_port: int
    worker_cores: int
    worker_memory: str
    python: str

    @classmethod
    def from_env(cls) -> "Cluster":
        env = os.environ
        return cls(
            dir=Path(env.get("LAKEHOUSE_CLUSTER_DIR", REPO / ".cluster")).resolve(),
            master_port=_env_int("SPARK_MASTER_PORT", 7077),
            master_ui_port=_env_int("SPARK_MASTER_WEBUI_PORT", 8080),
            worker_ui_base=_env_int("SPARK_WORKER_WEBUI_PORT", 8081),
            pg_port=_env_int("ICEBERG_DB_PORT", 5433),
            worker_cores=int(env.get("SPARK_WORKER_CORES") or 1),
            worker_memory=env.get("SPARK_WORKER_MEMORY") or "2g",
            python=default_python(REPO),
        )

    master_url = property(lambda self: f"spark://127.0.0.1:{self.master_port}")
    master_ui = property(lambda self: f"http://127.0.0.1:{self.master_ui_port}")
    pg_data = property(lambda self: self.dir / "postgres" / "data")
    pg_log = property(lambda self: self.dir / "postgres" / "server.log")
    secrets_dir = property(lambda self: self.dir / "secrets")
    log_dir = property(lambda self: self.dir / "logs")
    state_file = property(lambda self: self.dir / "cluster.json")

    def worker_ui(self, n: int) -> str:
        return f"http://127.0.0.1:{self.worker_ui_base + n - 1}"

    def spark_home(self) -> str:
        return subprocess.run([self.python, "-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))"],
                              check=True, capture_output=True, text=True).stdout.strip()

    # -- secrets: generated once into the state dir, readable by this user only ------------------
    def password(self, role: str) -> str:
        path = self.secrets_dir / f"{role}.password"
        if not path.exists():
            self.secrets_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(self.secrets_dir, 0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(24) + "\n")
        return path.read_text().strip()

    def settings(self) -> dict[str, str]:
        """What clients need: the names docker-compose.yml uses for the same things."""
        limit = int(os.environ.get("LIVY_POOL_LIMIT") or DEFAULT_POOL_LIMIT_POSTGRES)
        return {
            "LIVY_SPARK_MASTER": self.master_url,
            "LIVY_DEPLOY_MODE": "client",
            "SPARK_MASTER_WEBUI_URL": self.master_ui,
            "ICEBERG_DB_HOST": "127.0.0.1",
            "ICEBERG_DB_PORT": str(self.pg_port),
            "ICEBERG_DB": "iceberg",
            "ICEBERG_DB_USER": "iceberg",
            "ICEBERG_DB_PASSWORD": self.password("iceberg"),
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(self.pg_port),
            "DAGSTER_PG_DB": "dagster",
            "DAGSTER_PG_USER": "dagster",
            "DAGSTER_PG_PASSWORD": self.password("dagster"),
            "LIVY_POOL_LIMIT": str(limit),
            # Livy refuses (400 "too many sessions are being created") past this many live
            # spark-submits, and in client mode one lives for the whole batch: never below the pool.
            "LIVY_MAX_CREATION": str(max(limit, int(os.environ.get("LIVY_MAX_CREATION") or 0))),
            "LAKEHOUSE_CLUSTER_DIR": str(self.dir),
        }


# ---------------------------------------------------------------- state

def read_state(cluster: Cluster) -> dict:
    try:
        return json.loads(cluster.state_file.read_text())
    except (OSError, ValueError):
        return {}


def write_state(cluster: Cluster, state: dict) -> None:
    cluster.dir.mkdir(parents=True, exist_ok=True)
    cluster.state_file.write_text(json.dumps(state, indent=2) + "\n")


# ---------------------------------------------------------------- Spark standalone

def spark_proc(cluster: Cluster, name: str, args: list[str]) -> int:
    spark_home = cluster.spark_home()
    cluster.log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SPARK_HOME": spark_home, "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": cluster.python, "SPARK_LOG_DIR": str(cluster.log_dir),
           # Marks the processes (and executors they fork) as this cluster dir's.
           "LAKEHOUSE_CLUSTER_DIR": str(cluster.dir)}
    env.pop("SPARK_CONF_DIR", None)  # the daemons need no batch defaults
    log = cluster.log_dir / f"{name}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen([f"{spark_home}/bin/spark-class", *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cluster.dir,
                                start_new_session=True)
    return proc.pid


def master_state(cluster: Cluster) -> dict | None:
    return http_json(cluster.master_ui + "/json/")


def spark_up(cluster: Cluster, state: dict) -> None:
    if not (runs(state.get("master_pid"), MASTER_CLASS) and master_state(cluster)):
        for port in (cluster.master_port, cluster.master_ui_port):
            if port_in_use("127.0.0.1", port):
                raise ClusterError(f"port {port} on 127.0.0.1 is already in use; pick others with "
                                   f"SPARK_MASTER_PORT / SPARK_MASTER_WEBUI_PORT")
        state["master_pid"] = spark_proc(cluster, "master", [
            MASTER_CLASS, "--host", "127.0.0.1",
            "--port", str(cluster.master_port), "--webui-port", str(cluster.master_ui_port)])
        write_state(cluster, state)
        wait_for("Spark master", lambda: (master_state(cluster) or {}).get("status") == "ALIVE", 60,
                 cluster.log_dir / "master.log")
    print(f"Spark master {cluster.master_url} up (pid {state['master_pid']}, UI {cluster.master_ui})")
    pids = state.setdefault("worker_pids", {})
    for n in range(1, WORKERS + 1):
        if runs(pids.get(str(n)), WORKER_CLASS) and http_json(cluster.worker_ui(n) + "/json/"):
            continue
        work = cluster.dir / f"worker-{n}"
        work.mkdir(parents=True, exist_ok=True)
        pids[str(n)] = spark_proc(cluster, f"worker-{n}", [
            WORKER_CLASS, cluster.master_url, "--host", "127.0.0.1",
            "--cores", str(cluster.worker_cores), "--memory", cluster.worker_memory,
            "--webui-port", str(cluster.worker_ui_base + n - 1), "--work-dir", str(work)])
        write_state(cluster, state)
    wait_for(f"{WORKERS} Spark workers registered",
             lambda: sum(w.get("state") == "ALIVE" for w in (master_state(cluster) or {}).get("workers", []))
             >= WORKERS, 60, cluster.log_dir / "worker-1.log")
    for n in range(1, WORKERS + 1):
        print(f"Spark worker {n} up (pid {pids[str(n)]}, UI {cluster.worker_ui(n)}, "
              f"{cluster.worker_cores} core(s), {cluster.worker_memory})")


# ---------------------------------------------------------------- commands

def cmd_up(cluster: Cluster) -> None:
    cluster.dir.mkdir(parents=True, exist_ok=True)
    os.chmod(cluster.dir, 0o755)  # the postgres user must reach its data dir inside
    state = read_state(cluster)
    state.update({"master_url": cluster.master_url, "master_ui": cluster.master_ui,
                  "worker_uis": [cluster.worker_ui(n) for n in range(1, WORKERS + 1)],
                  "postgres": f"127.0.0.1:{cluster.pg_port}"})
    pg_up(cluster)
    spark_up(cluster, state)
    write_state(cluster, state)


def runs(pid: int | None, main_class: str) -> bool:
    """pid is alive and still the Spark daemon we started (not a recycled pid)."""
    if not alive(pid):
        return False
    try:
        return main_class in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _stop(pid: int | None, what: str, main_class: str, grace_s: float = 15.0) -> None:
    if not runs(pid, main_class):
        return
    try:
        os.killpg(pid, signal.SIGTERM)  # own session: the JVM and the spark-class shell
    except (ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.2)
    if alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    print(f"{what} stopped (pid {pid})")


def cmd_down(cluster: Cluster) -> None:
    state = read_state(cluster)
    for n, pid in sorted(state.get("worker_pids", {}).items()):
        _stop(pid, f"Spark worker {n}", WORKER_CLASS)
    _stop(state.get("master_pid"), "Spark master", MASTER_CLASS)
    if pg_pid(cluster) and alive(pg_pid(cluster)):
        pid = pg_pid(cluster)
        pg_ctl(cluster, "stop", "-m", "fast", "-w", "-t", "60", check=False)
        print(f"PostgreSQL stopped (pid {pid})")
    state.pop("master_pid", None)
    state.pop("worker_pids", None)
    if cluster.dir.exists():
        write_state(cluster, state)


def cmd_status(cluster: Cluster) -> int:
    state = read_state(cluster)
    master = master_state(cluster)
    rows = []
    mpid = state.get("master_pid")
    alive_workers = [w for w in (master or {}).get("workers", []) if w.get("state") == "ALIVE"]
    rows.append(("spark master", mpid, f"{cluster.master_url}  UI {cluster.master_ui}",
                 bool(master and master.get("status") == "ALIVE"),
                 f"{len(alive_workers)} worker(s) alive, {len(master.get('activeapps', []))} app(s) running"
                 if master else "not answering"))
    for n in range(1, WORKERS + 1):
        w = http_json(cluster.worker_ui(n) + "/json/")
        rows.append((f"spark worker {n}", state.get("worker_pids", {}).get(str(n)), cluster.worker_ui(n),
                     bool(w), f"{w.get('coresused', 0)}/{w.get('cores', 0)} cores used, "
                     f"{len(w.get('executors', []))} executor(s)" if w else "not answering"))
    pg_ok = pg_healthy(cluster) if (cluster.pg_data / "PG_VERSION").exists() else False
    rows.append(("postgresql", pg_pid(cluster) if pg_ok else None,
                 f"postgresql://127.0.0.1:{cluster.pg_port} (dbs dagster, iceberg)", pg_ok,
                 "accepting connections" if pg_ok else "not answering"))
    for name, pid, url, ok, detail in rows:
        print(f"{name:15} {'healthy' if ok else 'DOWN':8} pid {pid or '-':<8} {url}  ({detail})")
    healthy = sum(1 for r in rows if r[3])
    return 0 if healthy == len(rows) else 3 if healthy == 0 else 1


def dagster_yaml(env=None) -> str:
    """The local Dagster instance: storage and the default pool limit follow the catalog.

    Dagster 1.13's yaml cannot limit one named pool (`concurrency.pools` has only `default_limit`,
    for every pool without a limit set in the UI/CLI); the gold and notebook assets use the `livy`
    pool, so the default limit is what caps Livy batches.

    SQLite catalog: one Livy batch at a time (concurrent Iceberg commits on one SQLite file fight
    over its write lock). PostgreSQL catalog (ICEBERG_DB_HOST set): LIVY_POOL_LIMIT (default 3)
    batches at once, and the instance itself in PostgreSQL (dagster-postgres).
    """
    env = os.environ if env is None else env
    if not env.get("ICEBERG_DB_HOST"):
        limit = env.get("LIVY_POOL_LIMIT") or "1"
        return (f"concurrency:\n  pools:\n    default_limit: {int(limit)}\ntelemetry:\n  enabled: false\n")
    limit = int(env.get("LIVY_POOL_LIMIT") or DEFAULT_POOL_LIMIT_POSTGRES)
    return (
        "# Rendered by livy/clusterctl.py: PostgreSQL instance storage, the password from the environment.\n"
        "storage:\n  postgres:\n    postgres_db:\n"
        "      hostname: {env: DAGSTER_PG_HOST}\n      port: {env: DAGSTER_PG_PORT}\n"
        "      db_name: {env: DAGSTER_PG_DB}\n      username: {env: DAGSTER_PG_USER}\n"
        "      password: {env: DAGSTER_PG_PASSWORD}\n"
        # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; dagster-postgres ships psycopg2.
        "      scheme: postgresql+psycopg2\n"
        f"concurrency:\n  pools:\n    default_limit: {limit}\ntelemetry:\n  enabled: false\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status", "env", "dagster-yaml"])
    parser.add_argument("dir", nargs="?", help="dagster-yaml: the DAGSTER_HOME to write into")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    cluster = Cluster.from_env()
    if args.command == "up":
        cmd_up(cluster)
    elif args.command == "down":
        cmd_down(cluster)
    elif args.command == "status":
        return cmd_status(cluster)
    elif args.command == "env":
        values = cluster.settings()
        if args.json:
            print(json.dumps(values, indent=2))
        else:
            for k, v in values.items():
                print(f"export {k}={json.dumps(v)}")
    elif args.command == "dagster-yaml":
        home = Path(args.dir or os.environ.get("DAGSTER_HOME") or REPO / ".dagster")
        home.mkdir(parents=True, exist_ok=True)
        (home / "dagster.yaml").write_text(dagster_yaml())
    return 0


if __name__ == "__main__":
    sys.exit(main())
