"""Typed views of Livy's JSON answers (batches, sessions, statements, log pages).

``from_json`` is tolerant: missing keys get defaults and unknown keys are ignored, because
Livy versions and gateways differ in what they add or omit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from dagster_livy.errors import LivyError, LivyStatementError


class LivyState(str, Enum):
    """Batch/session state. Unknown server values map to ``UNKNOWN`` (raw value kept on models)."""

    NOT_STARTED = "not_started"
    STARTING = "starting"
    RECOVERING = "recovering"  # after a restart in YARN/K8s recovery mode; omitted by the docs
    IDLE = "idle"
    RUNNING = "running"
    BUSY = "busy"
    SHUTTING_DOWN = "shutting_down"
    ERROR = "error"
    DEAD = "dead"
    KILLED = "killed"
    SUCCESS = "success"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> LivyState:
        return cls.UNKNOWN

    @property
    def is_terminal(self) -> bool:
        """Terminal for a *batch* (includes ``error``, which Livy sets on some failures)."""
        return self in BATCH_TERMINAL_STATES

    @property
    def is_session_terminal(self) -> bool:
        """Terminal for an interactive session."""
        return self in SESSION_TERMINAL_STATES

    @property
    def is_failure(self) -> bool:
        return self in FAILURE_STATES


BATCH_TERMINAL_STATES = frozenset(
    {LivyState.SUCCESS, LivyState.DEAD, LivyState.KILLED, LivyState.ERROR}
)
SESSION_TERMINAL_STATES = frozenset(
    {LivyState.ERROR, LivyState.DEAD, LivyState.KILLED, LivyState.SUCCESS}
)
FAILURE_STATES = frozenset({LivyState.DEAD, LivyState.KILLED, LivyState.ERROR})


class StatementState(str, Enum):
    """Statement state. There is no "error" state: failures are ``available`` + error output."""

    WAITING = "waiting"
    RUNNING = "running"
    AVAILABLE = "available"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> StatementState:
        return cls.UNKNOWN

    @property
    def is_terminal(self) -> bool:
        return self in STATEMENT_TERMINAL_STATES


STATEMENT_TERMINAL_STATES = frozenset({StatementState.AVAILABLE, StatementState.CANCELLED})


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _id(d: dict) -> int:
    # The one key nothing works without; everything else has a default.
    if d.get("id") is None:
        raise LivyError(f"Livy answer has no id: {str(d)[:300]}")
    return int(d["id"])


def _raw_state(d: dict) -> str:
    raw = d.get("state")
    return "unknown" if raw is None else str(raw)


def _log_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(x) for x in value]


@dataclass(frozen=True)
class _SparkApp:
    """What batches and sessions share: a Spark application Livy started."""

    id: int
    name: str | None = None
    state: LivyState = LivyState.UNKNOWN
    raw_state: str = "unknown"
    app_id: str | None = None
    app_info: dict = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    owner: str | None = None
    proxy_user: str | None = None

    @staticmethod
    def _fields(d: dict) -> dict[str, Any]:
        raw = _raw_state(d)
        return dict(
            id=_id(d),
            name=_str_or_none(d.get("name")),
            state=LivyState(raw),
            raw_state=raw,
            app_id=_str_or_none(d.get("appId")),
            app_info=dict(d.get("appInfo") or {}),
            log=_log_list(d.get("log")),
            owner=_str_or_none(d.get("owner")),
            proxy_user=_str_or_none(d.get("proxyUser")),
        )

    @property
    def spark_ui_url(self) -> str | None:
        return self.app_info.get("sparkUiUrl")

    @property
    def driver_log_url(self) -> str | None:
        return self.app_info.get("driverLogUrl")


@dataclass(frozen=True)
class Batch(_SparkApp):
    """A Livy batch (``GET /batches/{id}``). ``log`` holds only the last 10 lines, framed."""

    @classmethod
    def from_json(cls, d: dict) -> Batch:
        return cls(**cls._fields(d))


@dataclass(frozen=True)
class Session(_SparkApp):
    """An interactive Livy session (``GET /sessions/{id}``)."""

    kind: str | None = None

    @classmethod
    def from_json(cls, d: dict) -> Session:
        return cls(**cls._fields(d), kind=_str_or_none(d.get("kind")))


@dataclass(frozen=True)
class Statement:
    """A statement of an interactive session."""

    id: int
    code: str | None = None
    state: StatementState = StatementState.UNKNOWN
    progress: float | None = None
    output: dict | None = None
    started: int | None = None
    completed: int | None = None

    @classmethod
    def from_json(cls, d: dict) -> Statement:
        progress = d.get("progress")
        output = d.get("output")
        return cls(
            id=_id(d),
            code=_str_or_none(d.get("code")),
            state=StatementState(d.get("state") or "unknown"),
            progress=None if progress is None else float(progress),
            output=output if isinstance(output, dict) else None,
            started=d.get("started"),
            completed=d.get("completed"),
        )

    @property
    def ok(self) -> bool:
        """True when the statement finished and its output status is "ok"."""
        return (
            self.state is StatementState.AVAILABLE
            and self.output is not None
            and self.output.get("status") == "ok"
        )

    @property
    def text(self) -> str | None:
        """The ``text/plain`` output, if any."""
        if not self.output:
            return None
        data = self.output.get("data") or {}
        return data.get("text/plain")

    def raise_for_error(self) -> None:
        """Raise :class:`LivyStatementError` when the output status is "error"."""
        if self.output is not None and self.output.get("status") == "error":
            tb = self.output.get("traceback") or []
            raise LivyStatementError(
                ename=_str_or_none(self.output.get("ename")),
                evalue=_str_or_none(self.output.get("evalue")),
                traceback=[str(t) for t in tb],
            )


@dataclass(frozen=True)
class LogPage:
    """One answer of ``GET /batches/{x}/log``: ``offset`` is the echoed ``from``.

    Livy's count field is ``total`` (the docs say ``size``; older docs' shape is accepted too).
    ``total`` is the length of the whole retained, framed log, not a running line count.
    """

    id: int | None
    offset: int
    total: int
    lines: list[str]

    @classmethod
    def from_json(cls, d: dict) -> LogPage:
        lines = _log_list(d.get("log"))
        total = d.get("total", d.get("size"))
        raw_id = d.get("id")
        return cls(
            id=None if raw_id is None else int(raw_id),
            offset=int(d.get("from") or 0),
            total=len(lines) if total is None else int(total),
            lines=lines,
        )
