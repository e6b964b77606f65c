"""Exception hierarchy for the Livy REST client.

Every error derives from :class:`LivyError` and carries the request context (method, url,
status, server body, batch id/name) so a failure in a Dagster run log says what was asked of
which server, and what the server answered.
"""

from __future__ import annotations

import json
from typing import Any

_TRACEBACK_START = "Traceback (most recent call last):"
# Context attributes rendered by __str__, in this order.
_CONTEXT_ATTRS = ("method", "url", "status_code", "batch_id", "batch_name", "body")
# Server bodies can be whole HTML error pages; keep messages readable.
_MAX_BODY_IN_MESSAGE = 2000


class LivyError(Exception):
    """Root of every error raised by dagster_livy's REST layer."""

    def __init__(
        self,
        message: str = "",
        *,
        method: str | None = None,
        url: str | None = None,
        status_code: int | None = None,
        body: str | None = None,
        batch_id: int | None = None,
        batch_name: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url
        self.status_code = status_code
        self.body = body
        self.batch_id = batch_id
        self.batch_name = batch_name

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take keyword-only arguments, which default exception pickling cannot
        # replay; restore from the attributes instead (errors may cross process boundaries).
        return (_restore, (type(self), dict(self.__dict__)))

    def context(self) -> dict[str, Any]:
        """The context attributes that are set."""
        return {k: getattr(self, k) for k in _CONTEXT_ATTRS if getattr(self, k) is not None}

    def __str__(self) -> str:
        parts = []
        for key, value in self.context().items():
            if key == "body":
                text = str(value)
                if len(text) > _MAX_BODY_IN_MESSAGE:
                    text = text[:_MAX_BODY_IN_MESSAGE] + "...[truncated]"
                value = text
            parts.append(f"{key}={value}")
        if not parts:
            return self.message
        return f"{self.message} [{', '.join(parts)}]" if self.message else ", ".join(parts)


def _restore(cls: type[LivyError], state: dict[str, Any]) -> LivyError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err


class LivyConfigError(LivyError, ValueError):
    """Invalid client-side configuration or request body (raised before anything is sent)."""


class LivyHTTPError(LivyError):
    """Livy answered with a non-2xx status."""


class LivyNotFoundError(LivyHTTPError):
    """404: no batch/session/statement with that id or name (or a wrong path prefix)."""


class LivyDuplicateNameError(LivyHTTPError):
    """400 "Duplicate session name": a retained batch/session already uses that name."""


class LivyConnectionError(LivyError):
    """The server could not be reached (refused, reset or timed out) after the retries.

    ``request_sent`` is False when the request provably never reached the server (connection
    refused, connect timeout), True when it may have (reset, read timeout), None if unknown.
    """

    def __init__(
        self, message: str = "", *, request_sent: bool | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.request_sent = request_sent


class LivyTimeoutError(LivyError):
    """A client-side wait exceeded its limit."""

    def __init__(
        self,
        message: str = "",
        *,
        waited_s: float | None = None,
        last_state: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.waited_s = waited_s
        self.last_state = last_state


class LivyBatchFailedError(LivyError):
    """A batch ended in ``dead``, ``killed`` or ``error``."""

    def __init__(
        self,
        *,
        state: str,
        log_tail: list[str] | None = None,
        batch_id: int | None = None,
        batch_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.state = state
        self.log_tail = list(log_tail or [])
        self.traceback = extract_python_traceback(self.log_tail)
        label = batch_name if batch_name is not None else "<unnamed>"
        message = f"Livy batch {label} (id {batch_id}) ended in state {state}"
        if self.traceback:
            message += "\n" + self.traceback
        elif self.log_tail:
            message += "\nLast log lines:\n" + "\n".join(self.log_tail[-20:])
        super().__init__(message, batch_id=batch_id, batch_name=batch_name, **kwargs)


class LivyStatementError(LivyError):
    """An interactive statement finished with ``output.status == "error"``."""

    def __init__(
        self,
        message: str = "",
        *,
        ename: str | None = None,
        evalue: str | None = None,
        traceback: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.ename = ename
        self.evalue = evalue
        self.traceback = list(traceback or [])
        if not message:
            message = f"Livy statement failed: {ename}: {evalue}"
            if self.traceback:
                message += "\n" + "".join(
                    t if t.endswith("\n") else t + "\n" for t in self.traceback
                ).rstrip("\n")
        super().__init__(message, **kwargs)


def http_error(status_code: int, text: str, **ctx: Any) -> LivyHTTPError:
    """Map a non-2xx answer to LivyNotFoundError / LivyDuplicateNameError / LivyHTTPError."""
    try:
        server_msg = str(json.loads(text).get("msg", text))  # Livy answers {"msg": "..."}
    except (ValueError, AttributeError):
        server_msg = text.strip()[:500]
    cls: type[LivyHTTPError] = LivyHTTPError
    if status_code == 404:
        cls = LivyNotFoundError
    elif status_code == 400 and "Duplicate session name" in text:
        cls = LivyDuplicateNameError
    message = f"Livy answered HTTP {status_code}: {server_msg}"
    return cls(message, status_code=status_code, body=text, **ctx)


def is_ambiguous(exc: LivyError) -> bool:
    """True for a POST failure after which the server may or may not have acted on it:
    a connection broken after sending (reset, read timeout) or a 502/503/504 (gateways)."""
    if isinstance(exc, LivyConnectionError):
        return exc.request_sent is not False
    return isinstance(exc, LivyHTTPError) and exc.status_code in (502, 503, 504)


def extract_python_traceback(lines: list[str]) -> str | None:
    """Return the last Python traceback in ``lines`` (start line through the exception line).

    The exception line is the first line after the start that is not indented (frames and
    source lines are indented). Chained tracebacks are not merged: the last one is the one that
    killed the driver. Returns None when no traceback start line is present.
    """
    start = None
    for i, line in enumerate(lines):
        if line.strip().startswith(_TRACEBACK_START):
            start = i
    if start is None:
        return None
    out = [lines[start].strip()]
    for line in lines[start + 1 :]:
        out.append(line.rstrip())
        # Frames ("  File ...") and their source lines are indented; the first non-indented,
        # non-empty line is "ExcType: message" and ends the traceback.
        if line.strip() and not line[:1].isspace():
            break
    return "\n".join(out)
