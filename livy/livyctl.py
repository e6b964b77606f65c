#!/usr/bin/env python3
"""Fetch, configure and run a local Apache Livy server (no Docker).

    python livy/livyctl.py jars     resolve the Livy jars from Maven Central (cached, idempotent)
    python livy/livyctl.py conf     render livy.conf / spark-defaults.conf from livy/conf/*.template
    python livy/livyctl.py up       start the LivyServer JVM in the background and wait for /version
    python livy/livyctl.py down     stop it gracefully (SIGTERM, then the whole process group)
    python livy/livyctl.py status   say whether it runs, where, and what it knows
    python livy/livyctl.py env      print the environment the server runs with (--json for tools)

Everything lives under the repository root unless overridden by the environment:
LIVY_LOCAL_DIR (.livy: jars and, unless LIVY_RUN_DIR says otherwise, the running instance's conf,
logs, pid and staging dir), LAKEHOUSE_DIR (.lakehouse), LIVY_PORT (8998), LIVY_HOST (127.0.0.1),
LIVY_SPARK_MASTER (local[*]), LIVY_DIST (an unpacked Livy binary distribution to run instead of
the Maven-resolved server), PYTHON (the interpreter with pyspark; default .venv/bin/python).

Standard library only: this runs before the virtualenv is complete.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from string import Template

LIVY_DIR = Path(__file__).resolve().parent
REPO = LIVY_DIR.parent


def _load_env_module():
    # dagster_livy/env.py is the one home of the stack's defaults; loaded by path because the
    # dagster_livy package itself needs the virtualenv (requests) and this runs before it exists.
    import importlib.util
    spec = importlib.util.spec_from_file_location("dagster_livy_env", REPO / "dagster_livy" / "env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stack_env = _load_env_module()
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


class StackError(SystemExit):
    """A user-facing failure: printed without a Python traceback, exit status 1."""

    def __init__(self, message: str):
        super().__init__(f"livyctl: {message}")


@dataclass(frozen=True)
class Layout:
    local_dir: Path
    run_dir: Path
    lakehouse_dir: Path
    dist: Path | None
    host: str
    port: int
    master: str
    deploy_mode: str
    python: str

    @classmethod
    def from_env(cls) -> "Layout":
        env = os.environ
        default_python = REPO / ".venv" / "bin" / "python"
        dist = env.get("LIVY_DIST")
        local_dir = Path(env.get("LIVY_LOCAL_DIR", REPO / ".livy")).resolve()
        return cls(
            local_dir=local_dir,
            run_dir=Path(env.get("LIVY_RUN_DIR", local_dir)).resolve(),
            lakehouse_dir=Path(env.get("LAKEHOUSE_DIR", REPO / ".lakehouse")).resolve(),
            dist=Path(dist).resolve() if dist else None,
            host=stack_env.livy_host(env),
            port=stack_env.livy_port(env),
            master=env.get("LIVY_SPARK_MASTER", "local[*]"),
            deploy_mode=env.get("LIVY_DEPLOY_MODE", "client"),
            python=env.get("PYTHON") or str(default_python if default_python.exists() else sys.executable),
        )

    # Where the server's jars come from: a binary distribution if given, else Maven's layout.
    @property
    def livy_home(self) -> Path:
        return self.dist or self.local_dir

    conf_dir = property(lambda self: self.run_dir / "conf")
    spark_conf_dir = property(lambda self: self.run_dir / "spark-conf")
    log_dir = property(lambda self: self.run_dir / "logs")
    staging_dir = property(lambda self: self.run_dir / "staging")
    spark_jars_dir = property(lambda self: self.local_dir / "spark-jars")
    pid_file = property(lambda self: self.run_dir / "livy-server.pid")
    server_log = property(lambda self: self.log_dir / "livy-server.out")
    url = property(lambda self: f"http://{self.host}:{self.port}")

    def spark_home(self) -> str:
        try:
            out = subprocess.run(
                [self.python, "-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))"],
                check=True, capture_output=True, text=True,
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError) as exc:
            raise StackError(
                f"pyspark is not importable with {self.python} ({exc}); run `make venv` first"
            ) from None
        return out

    def server_env(self) -> dict[str, str]:
        return {
            "LIVY_HOME": str(self.livy_home),
            "LIVY_CONF_DIR": str(self.conf_dir),
            "LIVY_LOG_DIR": str(self.log_dir),
            "SPARK_HOME": self.spark_home(),
            "SPARK_CONF_DIR": str(self.spark_conf_dir),
            "PYSPARK_PYTHON": self.python,
            "PYSPARK_DRIVER_PYTHON": self.python,
            "SPARK_LOCAL_IP": "127.0.0.1",
            "LAKEHOUSE_DIR": str(self.lakehouse_dir),
            "LIVY_URL": self.url,
            "LIVY_STAGING_DIR": str(self.staging_dir),
            # Batch drivers' print() lines and Pipes messages reach Livy's log as they happen.
            "PYTHONUNBUFFERED": "1",
        }


# ---------------------------------------------------------------- jars

def scala_versions(jar_names: list[str]) -> set[str]:
    """Scala binary versions named by `_2.xx` artifact suffixes and scala-library itself."""
    found = {m.group(1) for n in jar_names for m in [re.search(r"_(2\.1[0-3])-", n)] if m}
    found |= {m.group(1) for n in jar_names for m in [re.match(r"scala-library-(2\.1[0-3])\.", n)] if m}
    return found


def check_server_classpath(jars_dir: Path) -> str:
    """The published Livy POMs default ${scala.binary.version} to 2.11: a naive resolve can put
    Scala 2.11 libraries beside a 2.12 server. One Scala binary version, or refuse to start."""
    names = sorted(p.name for p in jars_dir.glob("*.jar"))
    if not any(n.startswith("livy-server-") for n in names):
        raise StackError(f"no livy-server jar in {jars_dir}")
    versions = scala_versions(names)
    if len(versions) != 1:
        offenders = [n for n in names if re.search(r"_2\.1[0-3]-|scala-library", n)]
        raise StackError(
            f"the Livy server classpath {jars_dir} mixes Scala binary versions {sorted(versions)}: "
            + ", ".join(offenders)
        )
    return versions.pop()


def cmd_jars(layout: Layout) -> None:
    if layout.dist:
        jars = layout.dist / "jars"
        if not jars.is_dir():
            raise StackError(f"LIVY_DIST={layout.dist} has no jars/ directory (unpack the binary zip there)")
        scala = check_server_classpath(jars)
        print(f"using Livy distribution {layout.dist} (server Scala {scala})")
    pom = LIVY_DIR / "pom.xml"
    stamp = layout.local_dir / ".jars.sha256"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    have = stamp.exists() and stamp.read_text().strip() == digest
    if not have or not any(layout.spark_jars_dir.glob("iceberg-spark-runtime-*.jar")):
        if not shutil.which("mvn"):
            raise StackError("Maven (mvn) is not on PATH; install Maven 3.8+ to resolve the Livy jars")
        print("resolving Livy and Spark-side jars from Maven Central ...", flush=True)
        for sub in ("jars", "rsc-jars", "spark-jars"):
            shutil.rmtree(layout.local_dir / sub, ignore_errors=True)
        proc = subprocess.run(
            ["mvn", "-q", "-B", "-f", str(pom), "package", f"-Dlivy.home={layout.local_dir}"],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
            raise StackError(f"Maven could not resolve the Livy jars (exit {proc.returncode}):\n{tail}")
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest + "\n")
    if not layout.dist:
        scala = check_server_classpath(layout.local_dir / "jars")
        print(f"Livy jars ready in {layout.local_dir} (server Scala {scala})")


# ---------------------------------------------------------------- conf

def render_values(layout: Layout) -> dict[str, str]:
    spark_jars = sorted(glob.glob(str(layout.spark_jars_dir / "*.jar")))
    if not spark_jars:
        raise StackError(f"no Spark-side jars in {layout.spark_jars_dir}; run `livyctl.py jars`")
    whitelist = os.environ.get("LIVY_FILE_WHITELIST") or ",".join(
        [str(REPO / "spark_scripts"), str(layout.staging_dir)])
    return {
        "LIVY_SPARK_MASTER": layout.master,
        "LIVY_DEPLOY_MODE": layout.deploy_mode,
        "LIVY_HOST": layout.host,
        "LIVY_PORT": str(layout.port),
        "LIVY_FILE_WHITELIST": whitelist,
        "LIVY_MAX_CREATION": os.environ.get("LIVY_MAX_CREATION", str(max(2, os.cpu_count() or 2))),
        "SPARK_EXTRA_JARS": ",".join(spark_jars),
        "SPARK_DRIVER_MEMORY": os.environ.get("SPARK_DRIVER_MEMORY", "1g"),
        "LAKEHOUSE_DIR": str(layout.lakehouse_dir),
    }


def cmd_conf(layout: Layout) -> None:
    values = render_values(layout)
    src = LIVY_DIR / "conf"
    for d in (layout.conf_dir, layout.spark_conf_dir, layout.log_dir, layout.staging_dir,
              layout.lakehouse_dir / "warehouse"):
        d.mkdir(parents=True, exist_ok=True)
    targets = {
        "livy.conf.template": layout.conf_dir / "livy.conf",
        "log4j.properties": layout.conf_dir / "log4j.properties",
        "spark-defaults.conf.template": layout.spark_conf_dir / "spark-defaults.conf",
        "log4j2.properties": layout.spark_conf_dir / "log4j2.properties",
    }
    for name, target in targets.items():
        text = (src / name).read_text()
        if name.endswith(".template"):
            try:
                text = Template(text).substitute(values)
            except (KeyError, ValueError) as exc:
                raise StackError(f"{src / name}: unknown placeholder {exc}") from None
        target.write_text(text)
    # Livy reads spark-blacklist.conf from its conf dir; an empty one blocks nothing.
    (layout.conf_dir / "spark-blacklist.conf").touch()
    print(f"config rendered in {layout.conf_dir} and {layout.spark_conf_dir}")


# ---------------------------------------------------------------- process control

def java_major() -> int:
    java = shutil.which("java") if not os.environ.get("JAVA_HOME") else os.path.join(os.environ["JAVA_HOME"], "bin", "java")
    if not java or not os.path.exists(java):
        raise StackError("Java is not installed (need Java 17: e.g. apt-get install openjdk-17-jdk-headless)")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        raise StackError(f"cannot read the Java version from: {out.strip()}")
    major = int(m.group(1)) if m.group(1) != "1" else int(m.group(2))
    if major < 17:
        raise StackError(f"Java {major} found at {java}; Livy here is launched with Java 17 module flags, install Java 17+")
    return major


def read_pid(layout: Layout) -> int | None:
    try:
        pid = int(layout.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def fetch_version(url: str, timeout: float = 2.0) -> dict | None:
    try:
        with urllib.request.urlopen(url + "/version", timeout=timeout) as resp:
            return json.load(resp)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def log_tail(path: Path, n: int = 50) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return f"(no log at {path})"


def cmd_up(layout: Layout, wait_s: float = 90.0) -> None:
    pid = read_pid(layout)
    if pid and fetch_version(layout.url):
        print(f"Livy already running (pid {pid}) at {layout.url}")
        return
    java_major()
    if port_in_use(layout.host, layout.port):
        raise StackError(
            f"port {layout.port} on {layout.host} is already in use by another process "
            f"(set LIVY_PORT to another port, or stop it: ss -ltnp 'sport = :{layout.port}')")
    cmd_jars(layout)
    cmd_conf(layout)
    env = {**os.environ, **layout.server_env()}
    home = layout.livy_home
    classpath = f"{home / 'jars'}/*:{layout.conf_dir}"
    cmd = ["java", *JAVA17_FLAGS, *os.environ.get("LIVY_SERVER_JAVA_OPTS", "").split(),
           "-cp", classpath, MAIN_CLASS]
    layout.log_dir.mkdir(parents=True, exist_ok=True)
    if layout.server_log.exists():
        layout.server_log.replace(layout.server_log.with_suffix(".out.1"))
    with open(layout.server_log, "ab") as log:
        # Own session: `down` can stop the server and every spark-submit it started as one group.
        proc = subprocess.Popen(cmd, cwd=layout.run_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    layout.pid_file.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            layout.pid_file.unlink(missing_ok=True)
            raise StackError(f"Livy exited with status {proc.returncode} while starting. "
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
    if not pid:
        print("Livy is not running")
        layout.pid_file.unlink(missing_ok=True)
        return
    # SIGTERM lets Livy stop its batches and sessions; then the group catches orphans.
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    layout.pid_file.unlink(missing_ok=True)
    print(f"Livy stopped (pid {pid})")


def cmd_status(layout: Layout) -> int:
    pid = read_pid(layout)
    version = fetch_version(layout.url)
    if version:
        print(f"Livy {version.get('version')} running at {layout.url}" + (f" (pid {pid})" if pid else " (not started by livyctl)"))
        print(f"  server log: {layout.server_log}")
        return 0
    print(f"Livy is not running at {layout.url}" + (f" (pid {pid} alive but not answering)" if pid else ""))
    return 3


def cmd_env(layout: Layout, as_json: bool) -> None:
    env = layout.server_env()
    if as_json:
        print(json.dumps(env, indent=2))
    else:
        for k, v in env.items():
            print(f"export {k}={json.dumps(v)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["jars", "conf", "up", "down", "status", "env"])
    parser.add_argument("--json", action="store_true", help="env: print JSON")
    parser.add_argument("--wait", type=float, default=90.0, help="up/down: seconds to wait")
    args = parser.parse_args(argv)
    layout = Layout.from_env()
    if args.command == "jars":
        cmd_jars(layout)
    elif args.command == "conf":
        cmd_conf(layout)
    elif args.command == "up":
        cmd_up(layout, args.wait)
    elif args.command == "down":
        cmd_down(layout, args.wait)
    elif args.command == "status":
        return cmd_status(layout)
    elif args.command == "env":
        cmd_env(layout, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
