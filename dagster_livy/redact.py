"""Hide secrets in Spark conf dicts and free text before they reach logs or Dagster metadata."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "***"

# Matches key names such as spark.hadoop.fs.s3a.secret.key, fs.azure.sas.<container>.token,
# spark.ssl.keyPassword, fs.s3a.access.key, ...credential.provider...
_SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|access[._-]?key|credential|private[._-]?key"
    r"|(^|[._-])sas([._-]|$))",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    """True when a conf key name looks like it holds a secret."""
    return bool(_SECRET_KEY.search(key))


def redact_conf(conf: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``conf`` with the values of secret-looking keys replaced by "***"."""
    return {k: (REDACTED if is_secret_key(str(k)) else v) for k, v in conf.items()}


def redact_text(s: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each non-empty secret in ``s`` by "***".

    Longer secrets are replaced first so a secret containing another is fully hidden.
    """
    for secret in sorted({x for x in secrets if x}, key=len, reverse=True):
        s = s.replace(secret, REDACTED)
    return s
