"""Where the local stack talks: one home for the environment defaults.

Standard library only, and importable by file path: `livy/livyctl.py` loads it before the
virtualenv exists, the Dagster resources, the Jupyter kernel, the demo, tests and bench import it.

One rule decides the Livy URL everywhere: `LIVY_URL` if set, else `http://LIVY_HOST:LIVY_PORT`
(defaults 127.0.0.1 and 8998) — so `LIVY_PORT=18998 make demo` starts *and uses* port 18998.

Local state (the Livy run dir with its staging dir, the lakehouse) defaults to dot-dirs of the
current working directory, never of the source tree (the package may be an installed wheel):
`make` runs from the checkout's root, so there they are the checkout's .livy/ and .lakehouse/.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8998
DEFAULT_LOCAL_DIR = ".livy"          # LIVY_LOCAL_DIR: jars, and the run dir unless LIVY_RUN_DIR
DEFAULT_LAKEHOUSE_DIR = ".lakehouse"  # LAKEHOUSE_DIR: the warehouse and the SQLite catalog


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def livy_host(env: Mapping[str, str] | None = None) -> str:
    return _env(env).get("LIVY_HOST") or DEFAULT_HOST


def livy_port(env: Mapping[str, str] | None = None) -> int:
    raw = _env(env).get("LIVY_PORT") or str(DEFAULT_PORT)
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"LIVY_PORT must be a port number, got {raw!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"LIVY_PORT must be between 1 and 65535, got {port}")
    return port


def livy_url(env: Mapping[str, str] | None = None) -> str:
    """The Livy server root URL: LIVY_URL, else the local server at LIVY_HOST:LIVY_PORT."""
    explicit = _env(env).get("LIVY_URL")
    if explicit:
        return explicit.rstrip("/")
    return f"http://{livy_host(env)}:{livy_port(env)}"


def local_dir(env: Mapping[str, str] | None = None) -> Path:
    """The local Livy's home (jars, and its run dir by default): LIVY_LOCAL_DIR, else ./.livy."""
    return Path(_env(env).get("LIVY_LOCAL_DIR") or Path.cwd() / DEFAULT_LOCAL_DIR)


def run_dir(env: Mapping[str, str] | None = None) -> Path:
    """The running local Livy's conf, logs, pid and staging dir: LIVY_RUN_DIR, else local_dir()."""
    e = _env(env)
    return Path(e["LIVY_RUN_DIR"]) if e.get("LIVY_RUN_DIR") else local_dir(e)


def staging_dir(env: Mapping[str, str] | None = None) -> Path:
    """The dir Livy may read files from (whitelisted): LIVY_STAGING_DIR, else the run dir's
    staging/, as livyctl lays it out."""
    e = _env(env)
    if e.get("LIVY_STAGING_DIR"):
        return Path(e["LIVY_STAGING_DIR"])
    return run_dir(e) / "staging"


def lakehouse_dir(env: Mapping[str, str] | None = None) -> Path:
    """The lakehouse (warehouse, and the SQLite catalog): LAKEHOUSE_DIR, else ./.lakehouse."""
    return Path(_env(env).get("LAKEHOUSE_DIR") or Path.cwd() / DEFAULT_LAKEHOUSE_DIR)


def catalog_properties(lakehouse_dir: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """pyiceberg `SqlCatalog` properties of the `lakehouse` catalog Spark uses (livy/livyconf.py
    renders the Spark side from the same settings): SQLite in `lakehouse_dir`, or PostgreSQL when
    ICEBERG_DB_HOST is set (ICEBERG_DB_PORT, ICEBERG_DB, ICEBERG_DB_USER, ICEBERG_DB_PASSWORD: the
    names docker-compose.yml uses). The warehouse stays under `lakehouse_dir` in both."""
    from urllib.parse import quote

    env = _env(env)
    props = {"warehouse": f"file://{lakehouse_dir}/warehouse"}
    host = env.get("ICEBERG_DB_HOST")
    if not host:
        return {**props, "uri": f"sqlite:///{lakehouse_dir}/catalog.db"}
    missing = [n for n in ("ICEBERG_DB", "ICEBERG_DB_USER", "ICEBERG_DB_PASSWORD") if not env.get(n)]
    if missing:
        raise ValueError(f"ICEBERG_DB_HOST={host} selects the PostgreSQL catalog, which also needs "
                         f"{', '.join(missing)}")
    user, password = quote(env["ICEBERG_DB_USER"], safe=""), quote(env["ICEBERG_DB_PASSWORD"], safe="")
    port = env.get("ICEBERG_DB_PORT") or "5432"
    return {**props, "uri": f"postgresql+psycopg2://{user}:{password}@{host}:{port}/{env['ICEBERG_DB']}"}


def seconds(var: str, raw: str) -> float:
    """A duration setting in seconds (>= 0); errors name the setting."""
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{var} must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{var} must be >= 0, got {raw!r}")
    return value


DEFAULT_HISTORY_PORT = 18080


def history_port(env: Mapping[str, str] | None = None) -> int:
    """The local Spark History Server's port: SPARK_HISTORY_PORT (default 18080)."""
    raw = _env(env).get("SPARK_HISTORY_PORT") or str(DEFAULT_HISTORY_PORT)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"SPARK_HISTORY_PORT must be a port number between 1 and 65535, got {raw!r}")
    return int(raw)


def history_url(env: Mapping[str, str] | None = None) -> str:
    """The Spark History Server root URL as a browser reaches it: SPARK_HISTORY_URL, else the
    local one `make up` starts on 127.0.0.1:SPARK_HISTORY_PORT (livy/historyserver.py)."""
    explicit = _env(env).get("SPARK_HISTORY_URL")
    if explicit:
        return explicit.rstrip("/")
    return f"http://{DEFAULT_HOST}:{history_port(env)}"
