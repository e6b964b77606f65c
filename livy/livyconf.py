"""Render the Livy server's configuration (livy/conf/*.template), enforce the exposure rule, and
read the running server's setup back from what was rendered for it.

Standard library only (loaded by livy/livyctl.py and livy/docker-entrypoint.sh before any
virtualenv). The rules decided here:

- **Exposure.** Livy runs whatever code its callers send. LIVY_HOST beyond loopback is refused
  unless LIVY_AUTH names who authenticates them (docs/security.md):
  ``kerberos`` (SPNEGO in Livy; LIVY_AUTH_KERBEROS_PRINCIPAL, LIVY_AUTH_KERBEROS_KEYTAB),
  ``ldap`` (HTTP Basic checked by Livy against LDAP; LIVY_AUTH_LDAP_URL, optional
  LIVY_AUTH_LDAP_BASE_DN), or ``proxy`` (an authenticating reverse proxy is the only way in and
  Livy's port is not published: the compose stack's `livy-proxy`). LIVY_IMPERSONATION=true
  makes a batch's ``proxyUser`` effective (kerberos/ldap).
- **Spark event logs.** Every driver writes one to SPARK_EVENT_LOG_DIR (default
  <run dir>/spark-events), which the Spark History Server (livy/historyserver.py) serves.
- **Server log.** Size-bounded (LIVY_LOG_MAX_SIZE, default 10MB; LIVY_LOG_BACKUPS, default 5)
  in $LIVY_LOG_DIR/livy-server.out, or stderr with LIVY_LOG_TO=console (containers).
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import ipaddress
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template

LIVY_DIR = Path(__file__).resolve().parent
REPO = LIVY_DIR.parent
if str(LIVY_DIR) not in sys.path:  # the sibling module, however this file is loaded
    sys.path.insert(0, str(LIVY_DIR))
import stackproc  # noqa: E402
from stackproc import write_private  # noqa: E402


def _load_env_module():
    # dagster_livy/env.py is the one home of the stack's defaults and of the catalog rule; loaded
    # by path because the dagster_livy package itself needs the virtualenv (requests) and this
    # runs before it exists (the images copy env.py beside livy/ for the same reason).
    spec = importlib.util.spec_from_file_location("dagster_livy_env", REPO / "dagster_livy" / "env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stack_env = _load_env_module()
AUTH_MODES = ("kerberos", "ldap", "proxy")
SERVER_LOG_NAME = "livy-server.out"


class StackError(SystemExit):
    """A user-facing failure of livyctl: printed without a Python traceback, exit status 1."""

    def __init__(self, message: str):
        super().__init__(f"livyctl: {message}")


@dataclass(frozen=True)
class Layout:
    """Where a local stack lives and how it is set up, from the environment (livy/livyctl.py's
    docstring lists the variables)."""

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
        dist = env.get("LIVY_DIST")
        # The same defaults the Dagster side reads (dagster_livy/env.py: ./.livy, ./.lakehouse of the
        # current directory, `make`'s is the checkout), so both always agree on where the stack is.
        return cls(
            local_dir=stack_env.local_dir(env).resolve(),
            run_dir=stack_env.run_dir(env).resolve(),
            lakehouse_dir=stack_env.lakehouse_dir(env).resolve(),
            dist=Path(dist).resolve() if dist else None,
            host=stack_env.livy_host(env),
            port=stack_env.livy_port(env),
            master=env.get("LIVY_SPARK_MASTER", "local[*]"),
            deploy_mode=env.get("LIVY_DEPLOY_MODE", "client"),
            python=stackproc.default_python(REPO),
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
    # Spark event logs of every driver (spark-defaults.conf), read by the History Server.
    event_log_dir = property(lambda self: Path(os.environ.get("SPARK_EVENT_LOG_DIR") or self.run_dir / "spark-events"))
    server_log = property(lambda self: self.log_dir / SERVER_LOG_NAME)  # log4j, rolling
    jvm_out = property(lambda self: self.log_dir / "livy-server.stdout")  # what bypasses log4j
    state_file = property(lambda self: self.run_dir / "livy-server.json")
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


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def _need(env, *names: str) -> list[str]:
    missing = [n for n in names if not env.get(n)]
    if missing:
        raise StackError(f"LIVY_AUTH={env['LIVY_AUTH']} needs {' and '.join(missing)} "
                         "(see docs/security.md)")
    return [env[n] for n in names]


def auth_conf(host: str, env=None) -> str:
    """livy.conf lines for LIVY_AUTH; refuses a bind beyond loopback without authentication."""
    env = os.environ if env is None else env
    mode = (env.get("LIVY_AUTH") or "").strip().lower()
    if mode in ("", "none"):
        if not is_loopback(host):
            raise StackError(
                f"LIVY_HOST={host} would let anyone who reaches that address run code through Livy, "
                f"and LIVY_AUTH is not set. Bind loopback (unset LIVY_HOST), or set LIVY_AUTH to one "
                f"of {', '.join(AUTH_MODES)} with its settings (docs/security.md)")
        return "# none: loopback only"
    if mode not in AUTH_MODES:
        raise StackError(f"LIVY_AUTH={env.get('LIVY_AUTH')!r} is not one of {', '.join(AUTH_MODES)}, none")
    lines = []
    if mode == "kerberos":
        principal, keytab = _need(env, "LIVY_AUTH_KERBEROS_PRINCIPAL", "LIVY_AUTH_KERBEROS_KEYTAB")
        lines += ["livy.server.auth.type = kerberos",
                  f"livy.server.auth.kerberos.principal = {principal}",
                  f"livy.server.auth.kerberos.keytab = {keytab}"]
    elif mode == "ldap":
        (url,) = _need(env, "LIVY_AUTH_LDAP_URL")
        lines += ["livy.server.auth.type = ldap", f"livy.server.auth.ldap.url = {url}"]
        if env.get("LIVY_AUTH_LDAP_BASE_DN"):
            lines.append(f"livy.server.auth.ldap.base-dn = {env['LIVY_AUTH_LDAP_BASE_DN']}")
    else:
        lines.append("# proxy: an authenticating reverse proxy is the only way in (Livy's port unpublished)")
    if (env.get("LIVY_IMPERSONATION") or "").lower() in ("1", "true", "yes"):
        if mode == "proxy":
            raise StackError("LIVY_IMPERSONATION needs Livy to know the caller: LIVY_AUTH=kerberos or ldap, "
                             "not proxy")
        lines.append("livy.impersonation.enabled = true")
    return "\n".join(lines)


def log_values(layout, env=None) -> dict[str, str]:
    env = os.environ if env is None else env
    to = (env.get("LIVY_LOG_TO") or "file").lower()
    if to not in ("file", "console"):
        raise StackError(f"LIVY_LOG_TO must be file or console, got {to!r}")
    size = env.get("LIVY_LOG_MAX_SIZE") or "10MB"
    if not re.fullmatch(r"\d+(KB|MB|GB)?", size):
        raise StackError(f"LIVY_LOG_MAX_SIZE must look like 512KB, 10MB or 1GB, got {size!r}")
    backups = env.get("LIVY_LOG_BACKUPS") or "5"
    if not backups.isdigit():
        raise StackError(f"LIVY_LOG_BACKUPS must be a whole number, got {backups!r}")
    return {
        "LIVY_LOG_APPENDER": "rolling" if to == "file" else "console",
        "LIVY_LOG_FILE": str(layout.log_dir / SERVER_LOG_NAME),
        "LIVY_LOG_MAX_SIZE": size,
        "LIVY_LOG_BACKUPS": backups,
    }


def catalog_values(layout, env=None) -> dict[str, str]:
    """The `lakehouse` catalog's JDBC URI and credentials: SQLite in LAKEHOUSE_DIR, or PostgreSQL
    when ICEBERG_DB_HOST is set (the names docker-compose.yml uses; `clusterctl.py env` sets them).
    Which one, and what PostgreSQL needs, is dagster_livy/env.py's `catalog_properties` rule (the
    one pyiceberg readers use); this only spells its choice as JDBC for Spark."""
    env = os.environ if env is None else env
    try:
        uri = stack_env.catalog_properties(str(layout.lakehouse_dir), env)["uri"]
    except ValueError as exc:
        raise StackError(f"{exc} (`eval \"$(python livy/clusterctl.py env)\"`)") from None
    if uri.startswith("sqlite:///"):
        return {"LAKEHOUSE_CATALOG_JDBC_URI": f"jdbc:sqlite:{uri[len('sqlite:///'):]}",
                "LAKEHOUSE_CATALOG_AUTH_CONF": "# SQLite: no credentials"}
    # postgresql+psycopg2://user:password@host:port/db -> jdbc:postgresql://host:port/db (the
    # credentials go in their own keys, unquoted).
    where = uri.split("://", 1)[1].rpartition("@")[2]
    return {
        "LAKEHOUSE_CATALOG_JDBC_URI": f"jdbc:postgresql://{where}",
        # Spark redacts *password* keys in its UI and event logs; the file itself is mode 600.
        "LAKEHOUSE_CATALOG_AUTH_CONF": (f"spark.sql.catalog.lakehouse.jdbc.user     {env['ICEBERG_DB_USER']}\n"
                                        f"spark.sql.catalog.lakehouse.jdbc.password {env['ICEBERG_DB_PASSWORD']}"),
    }


def cluster_conf(master: str, env=None) -> str:
    env = os.environ if env is None else env
    if not master.startswith("spark://"):
        return "# not a standalone master"
    cores = env.get("SPARK_CORES_MAX") or "1"
    if not cores.isdigit() or int(cores) < 1:
        raise StackError(f"SPARK_CORES_MAX must be a whole number >= 1, got {cores!r}")
    return (f"spark.cores.max                              {cores}\n"
            "spark.executor.cores                         1\n"
            "spark.executor.memory                        1g")


def jvm_options_conf(env=None, cds: tuple[str, str] | None = None) -> str:
    """SPARK_JVM_OPTIONS: extra JVM flags for every batch's driver and executors (empty: none).
    The tests set C1-only JIT and the serial GC there: a short test job spends ~40% of its CPU
    compiling (one small job: 12.3 -> 7.5 CPU s), and the suite is CPU-bound on two cores.
    `cds` (cds_settings): the driver's archive flag and class path, added to the driver's."""
    env = os.environ if env is None else env
    opts = (env.get("SPARK_JVM_OPTIONS") or "").strip()
    lines = []
    driver_opts = " ".join(filter(None, [opts, cds[0] if cds else ""]))
    if driver_opts:
        lines.append(f"spark.driver.extraJavaOptions                {driver_opts}")
    if opts:
        lines.append(f"spark.executor.extraJavaOptions              {opts}")
    if cds:
        lines.append(f"spark.driver.extraClassPath                  {cds[1]}")
    return "\n".join(lines) or "# no SPARK_JVM_OPTIONS, no CDS archive"


# ---------------------------------------------------------------- class data sharing (CDS)
# A batch's driver JVM loads ~16,000 classes (Spark SQL, Iceberg, Parquet, the JDBC catalog) from
# jars, parsing and verifying each. A dynamic AppCDS archive (JDK 13+) holds them pre-parsed:
# `livyctl.py cds` builds one (spark_scripts/cds_warmup.py in a driver started with
# -XX:ArchiveClassesAtExit), and while it matches the JDK and the jars, every driver maps it.
# The JVM only uses an archive whose class path entries come before any non-empty directory, and
# spark-submit puts SPARK_CONF_DIR ahead of Spark's jars; so the archived drivers list the jars
# first in spark.driver.extraClassPath (the same jars: spark.jars' and Spark's own; no jar of
# either holds a file that SPARK_CONF_DIR provides, so the lookup order of those is unchanged).

def _java_home(env) -> Path | None:
    java = os.path.join(env["JAVA_HOME"], "bin", "java") if env.get("JAVA_HOME") else shutil.which("java")
    return Path(os.path.realpath(java)).parent.parent if java and os.path.exists(java) else None


def cds_classpath(layout, spark_home: str) -> list[str]:
    """The driver class path an archive is built for and used with (spark.driver.extraClassPath)."""
    return sorted(glob.glob(str(layout.spark_jars_dir / "*.jar"))) + [os.path.join(spark_home, "jars", "*")]


def cds_archive(layout, spark_home: str, env=None) -> Path | None:
    """Where the archive for this JDK and jar set lives (named by a hash of the JDK's libjvm and
    release file and every jar's name, size and mtime: a changed JDK or jar names another file,
    so a stale archive is never rendered); None without a java."""
    env = os.environ if env is None else env
    home = _java_home(env)
    if home is None:
        return None
    digest = hashlib.sha256(str(home).encode())
    jars = [p for entry in cds_classpath(layout, spark_home) for p in sorted(glob.glob(entry))]
    for path in [home / "lib" / "server" / "libjvm.so", home / "release", *map(Path, jars)]:
        try:
            st = path.stat()
        except OSError:
            continue
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return layout.local_dir / "cds" / f"spark-driver-{digest.hexdigest()[:16]}.jsa"


def cds_mode(env=None) -> str:
    """SPARK_CDS: "auto" (the default: use the archive `livyctl.py cds` built, if any) or "off"."""
    env = os.environ if env is None else env
    mode = (env.get("SPARK_CDS") or "auto").strip().lower()
    if mode not in ("auto", "off"):
        raise StackError(f"SPARK_CDS must be auto (use the archive `livyctl.py cds` built, if any) or off, "
                         f"got {env.get('SPARK_CDS')!r}")
    return mode


def cds_settings(layout, env=None) -> tuple[str, str] | None:
    """(JVM flag, driver class path) when SPARK_CDS allows it and the archive is built; else None."""
    env = os.environ if env is None else env
    if cds_mode(env) == "off" or not any((layout.local_dir / "cds").glob("*.jsa")):
        return None  # nothing built (the images never build one): no need to look for Spark
    try:
        spark_home = layout.spark_home()
    except StackError:
        return None
    archive = cds_archive(layout, spark_home, env)
    if archive is None or not archive.is_file():
        return None
    return f"-XX:SharedArchiveFile={archive}", ":".join(cds_classpath(layout, spark_home))


def render_values(layout) -> dict[str, str]:
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
        "LIVY_AUTH_CONF": auth_conf(layout.host),
        "LIVY_FILE_WHITELIST": whitelist,
        "LIVY_MAX_CREATION": os.environ.get("LIVY_MAX_CREATION", str(max(2, os.cpu_count() or 2))),
        "SPARK_EXTRA_JARS": ",".join(spark_jars),
        "SPARK_DRIVER_MEMORY": os.environ.get("SPARK_DRIVER_MEMORY", "1g"),
        "LAKEHOUSE_DIR": str(layout.lakehouse_dir),
        "SPARK_EVENT_LOG_DIR": str(layout.event_log_dir),
        "SPARK_CLUSTER_CONF": cluster_conf(layout.master),
        "SPARK_JVM_OPTIONS_CONF": jvm_options_conf(cds=cds_settings(layout)),
        **catalog_values(layout),
        **log_values(layout),
    }


def cmd_conf(layout) -> None:
    values = render_values(layout)
    src = LIVY_DIR / "conf"
    for d in (layout.conf_dir, layout.spark_conf_dir, layout.log_dir, layout.staging_dir,
              layout.event_log_dir, layout.lakehouse_dir / "warehouse"):
        d.mkdir(parents=True, exist_ok=True)
    targets = {
        "livy.conf.template": layout.conf_dir / "livy.conf",
        "log4j.properties.template": layout.conf_dir / "log4j.properties",
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
        if name.startswith("spark-defaults"):
            write_private(target, text)  # may hold the catalog's JDBC password
        else:
            target.write_text(text)
    # Livy reads spark-blacklist.conf from its conf dir; an empty one blocks nothing.
    (layout.conf_dir / "spark-blacklist.conf").touch()
    print(f"config rendered in {layout.conf_dir} and {layout.spark_conf_dir}")


# ---------------------------------------------------------------- the running server's setup
# (read back from the config `cmd_conf` rendered for it, compared with what is asked now)

def running_setup(layout) -> dict | None:
    """The Spark master and catalog URI the running server's rendered config says."""
    try:
        livy_conf = (layout.conf_dir / "livy.conf").read_text()
        spark_conf = (layout.spark_conf_dir / "spark-defaults.conf").read_text()
    except OSError:
        return None
    master = re.search(r"^livy\.spark\.master\s*=\s*(\S+)", livy_conf, re.M)
    uri = re.search(r"^spark\.sql\.catalog\.lakehouse\.uri\s+(\S+)", spark_conf, re.M)
    return {"master": master.group(1), "catalog": uri.group(1)} if master and uri else None


def wanted_setup(layout) -> dict:
    """The Spark master and catalog URI this environment asks for (what `up` would render)."""
    return {"master": layout.master, "catalog": catalog_values(layout)["LAKEHOUSE_CATALOG_JDBC_URI"]}


def setup_mismatch(running: dict | None, wanted: dict, pid: int | None) -> str | None:
    """None if the running server is set up as wanted (or its setup is unknown); else both setups
    and what to do: a demo against the local-mode (SQLite) server while it reads PostgreSQL, or the
    reverse, would read another catalog than the batches write."""
    if not running or running == wanted:
        return None
    def say(setup: dict) -> str:
        return f"Spark master {setup['master']}, catalog {setup['catalog']}"
    return (f"this checkout's Livy{f' (pid {pid})' if pid else ''} runs with {say(running)};\n"
            f"  this environment asks for {say(wanted)} (CLUSTER=1 or not?).\n"
            f"  `make down` first, then start it again as wanted (`make up` or `make up CLUSTER=1`)")



def render_braced(text: str, values: dict[str, str]) -> str:
    """Fill ${NAME} (upper-case) placeholders like the nginx image's envsubst; leaves nginx's own
    $variables alone and refuses a missing or empty value (an empty token would open the proxy)."""
    def sub(m: re.Match) -> str:
        if not values.get(m.group(1)):
            raise StackError(f"{m.group(1)} must be set (non-empty) to render the proxy config")
        return values[m.group(1)]
    return re.sub(r"\$\{([A-Z][A-Z0-9_]*)\}", sub, text)
