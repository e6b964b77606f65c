"""Build and validate Livy request bodies (pure functions, no I/O).

Validation happens here, before anything is sent, because Livy's answers to bad bodies are
unhelpful: Jackson rejects unknown/mistyped fields with a terse 400, and some mistakes (a bare
string where a list is expected) only surface as a failed spark-submit much later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from dagster_livy.errors import LivyConfigError
from dagster_livy.naming import check_name

SESSION_KINDS = frozenset({"spark", "pyspark", "sparkr", "sql", "shared"})
_JVM_SIZE = re.compile(r"^\d+[kmgtKMGT]?$")


def _check_nonempty_str(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LivyConfigError(f"{field} must be a non-empty string, got {value!r}")
    return value


def _check_memory(field: str, value: Any) -> str:
    if not isinstance(value, str) or not _JVM_SIZE.match(value):
        raise LivyConfigError(
            f"{field} must be a JVM memory size like '512m' or '2g', got {value!r}"
        )
    return value


def _check_positive_int(field: str, value: Any) -> int:
    # bool is an int subclass; True would silently become 1 core.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise LivyConfigError(f"{field} must be a positive integer, got {value!r}")
    return value


def _check_str_list(field: str, value: Any) -> list[str]:
    # A bare string is iterable and would be split into characters; reject it explicitly.
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise LivyConfigError(
            f"{field} must be a list of strings (not a bare string), got {value!r}"
        )
    for item in value:
        if not isinstance(item, str):
            raise LivyConfigError(f"{field} items must be strings, got {item!r}")
    return list(value)


def _check_conf(field: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise LivyConfigError(f"{field} must be a dict of str to str, got {type(value).__name__}")
    out: dict[str, str] = {}
    for key, val in value.items():
        if not isinstance(key, str) or not key:
            raise LivyConfigError(f"{field} keys must be non-empty strings, got {key!r}")
        if isinstance(val, bool):
            # Spark parses "true"/"false"; Python's str(True) would give "True".
            out[key] = "true" if val else "false"
        elif isinstance(val, (str, int, float)):
            out[key] = str(val)
        else:
            raise LivyConfigError(
                f"{field}[{key!r}] must be a str, int, float or bool, got {type(val).__name__}"
            )
    return out


def _check_duration(field: str, value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^\d+\s*[a-zA-Z]*$", value.strip()):
        raise LivyConfigError(f"{field} must be a duration string like '10m', got {value!r}")
    return value


@dataclass(frozen=True)
class _Field:
    arg: str  # Python keyword argument
    key: str  # Livy JSON key
    check: Callable[[str, Any], Any]


# The one table of resource fields shared by batch and session bodies.
_COMMON_FIELDS: tuple[_Field, ...] = (
    _Field("proxy_user", "proxyUser", _check_nonempty_str),
    _Field("jars", "jars", _check_str_list),
    _Field("py_files", "pyFiles", _check_str_list),
    _Field("files", "files", _check_str_list),
    _Field("driver_memory", "driverMemory", _check_memory),
    _Field("driver_cores", "driverCores", _check_positive_int),
    _Field("executor_memory", "executorMemory", _check_memory),
    _Field("executor_cores", "executorCores", _check_positive_int),
    _Field("num_executors", "numExecutors", _check_positive_int),
    _Field("archives", "archives", _check_str_list),
    _Field("queue", "queue", _check_nonempty_str),
    _Field("name", "name", lambda field, value: check_name(value, field)),
    _Field("conf", "conf", _check_conf),
)
_BATCH_ONLY: tuple[_Field, ...] = (
    _Field("class_name", "className", _check_nonempty_str),
    _Field("args", "args", _check_str_list),
)
# ttl/idleTimeout exist from Livy 0.8; Livy 0.7.1's strict Jackson mapper answers 400 to them.
_SESSION_ONLY: tuple[_Field, ...] = (
    _Field("heartbeat_timeout_s", "heartbeatTimeoutInSecond", _check_positive_int),
    _Field("ttl", "ttl", _check_duration),
    _Field("idle_timeout", "idleTimeout", _check_duration),
)


def _apply(fields: tuple[_Field, ...], values: dict[str, Any], body: dict[str, Any]) -> None:
    for f in fields:
        value = values.get(f.arg)
        # None and empty collections are omitted: Livy's defaults apply.
        if value is None or (isinstance(value, (list, tuple, dict)) and not value):
            continue
        body[f.key] = f.check(f.arg, value)


def build_batch_body(
    file: str,
    *,
    proxy_user: str | None = None,
    class_name: str | None = None,
    args: list[str] | None = None,
    jars: list[str] | None = None,
    py_files: list[str] | None = None,
    files: list[str] | None = None,
    driver_memory: str | None = None,
    driver_cores: int | None = None,
    executor_memory: str | None = None,
    executor_cores: int | None = None,
    num_executors: int | None = None,
    archives: list[str] | None = None,
    queue: str | None = None,
    name: str | None = None,
    conf: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the JSON body of ``POST /batches`` (camelCase keys, None/empty omitted).

    Raises :class:`LivyConfigError` naming the offending field.
    """
    values = dict(locals())
    body: dict[str, Any] = {"file": _check_nonempty_str("file", file)}
    _apply(_BATCH_ONLY + _COMMON_FIELDS, values, body)
    return body


def build_session_body(
    kind: str = "pyspark",
    *,
    proxy_user: str | None = None,
    jars: list[str] | None = None,
    py_files: list[str] | None = None,
    files: list[str] | None = None,
    driver_memory: str | None = None,
    driver_cores: int | None = None,
    executor_memory: str | None = None,
    executor_cores: int | None = None,
    num_executors: int | None = None,
    archives: list[str] | None = None,
    queue: str | None = None,
    name: str | None = None,
    heartbeat_timeout_s: int | None = None,
    ttl: str | None = None,
    idle_timeout: str | None = None,
    conf: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the JSON body of ``POST /sessions``.

    ``ttl`` and ``idle_timeout`` need Livy >= 0.8 (0.7.1 rejects unknown fields with 400).
    """
    values = dict(locals())
    if kind not in SESSION_KINDS:
        raise LivyConfigError(f"kind must be one of {sorted(SESSION_KINDS)}, got {kind!r}")
    body: dict[str, Any] = {"kind": kind}
    _apply(_COMMON_FIELDS + _SESSION_ONLY, values, body)
    return body


def build_statement_body(code: str, kind: str | None = None) -> dict[str, Any]:
    """Return the JSON body of ``POST /sessions/{id}/statements``."""
    if not isinstance(code, str) or not code.strip():
        raise LivyConfigError(f"code must be a non-empty string, got {code!r}")
    body: dict[str, Any] = {"code": code}
    if kind is not None:
        if kind not in SESSION_KINDS - {"shared"}:
            raise LivyConfigError(
                f"kind must be one of {sorted(SESSION_KINDS - {'shared'})}, got {kind!r}"
            )
        body["kind"] = kind
    return body
