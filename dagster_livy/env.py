"""Where the local stack talks: one home for the environment defaults.

Standard library only, and importable by file path: `livy/livyctl.py` loads it before the
virtualenv exists, the Dagster resources, the Jupyter kernel, the demo, tests and bench import it.

One rule decides the Livy URL everywhere: `LIVY_URL` if set, else `http://LIVY_HOST:LIVY_PORT`
(defaults 127.0.0.1 and 8998) — so `LIVY_PORT=18998 make demo` starts *and uses* port 18998.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8998
REPO = Path(__file__).resolve().parent.parent


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


def staging_dir(env: Mapping[str, str] | None = None) -> Path:
    """The dir Livy may read files from (whitelisted): LIVY_STAGING_DIR, else the run dir's
    staging/ (LIVY_RUN_DIR, else LIVY_LOCAL_DIR, else <repo>/.livy), as livyctl lays it out."""
    e = _env(env)
    if e.get("LIVY_STAGING_DIR"):
        return Path(e["LIVY_STAGING_DIR"])
    return Path(e.get("LIVY_RUN_DIR") or e.get("LIVY_LOCAL_DIR") or REPO / ".livy") / "staging"
