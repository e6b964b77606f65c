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

    # Set when the message already quotes the server body (__str__ then leaves it out).
    body_in_message = False

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
                if self.body_in_message:
                    continue
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
        self.exception_line = self.traceback.splitlines()[-1] if self.traceback else None
        label = batch_name if batch_name is not None else "<unnamed>"
        # The driver's exception first: it is what a person acts on; the traceback follows.
        message = f"Livy batch {label} (id {batch_id}) ended in state {state}"
        if self.exception_line:
            message = f"{self.exception_line}\n{message}\n{self.traceback}"
        elif self.log_tail:
            message += "\nLast log lines:\n" + "\n".join(self.log_tail[-20:])
        super().__init__(message, batch_id=batch_id, batch_name=batch_name, **kwargs)


class LivyBatchLostError(LivyError):
    """Livy forgot a batch a second time (restarted again while the resubmitted batch ran)."""


class NotALivyServerError(LivyError):
    """Something answered at the URL, but not Livy (another service on the port, wrong prefix)."""


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
        server_msg = None
    cls: type[LivyHTTPError] = LivyHTTPError
    if status_code == 404:
        cls = LivyNotFoundError
    elif status_code == 400 and "Duplicate session name" in text:
        cls = LivyDuplicateNameError
    if server_msg is None:  # not Livy's JSON: an HTML error page, a proxy, another service
        err = cls(f"HTTP {status_code}, body not Livy's JSON: {excerpt(text)}",
                  status_code=status_code, body=text, **ctx)
        err.body_in_message = True
        return err
    return cls(f"Livy answered HTTP {status_code}: {server_msg}", status_code=status_code, body=text, **ctx)


def excerpt(text: str, limit: int = 300) -> str:
    """One line of at most `limit` characters (whitespace collapsed): enough to recognise a page."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit] + "...[truncated]"


# Driver exception lines that mean contention, not bad data: a retry can succeed.
TRANSIENT_DRIVER_ERRORS = ("SQLITE_BUSY", "database is locked", "CommitFailedException")


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same batch can succeed. THE place failures are classified.

    Transient: Livy unreachable (refused, reset, timed out), a gateway/server 5xx, a batch Livy
    lost twice (restarts), a driver that died of catalog contention (SQLITE_BUSY, a concurrent
    Iceberg commit). Permanent: the driver exited with any other error (missing silver, unknown
    table, bad argument, a failing data-quality check), a 4xx, a server that is not Livy, bad
    configuration, a client-side timeout (a retry would wait as long again).
    """
    if isinstance(exc, (LivyConnectionError, LivyBatchLostError)):
        return True
    if isinstance(exc, NotALivyServerError):
        return False
    if isinstance(exc, LivyHTTPError):
        return exc.status_code is not None and exc.status_code >= 500
    if isinstance(exc, LivyBatchFailedError):
        text = exc.exception_line or "\n".join(exc.log_tail[-20:])
        return any(marker in text for marker in TRANSIENT_DRIVER_ERRORS)
    return False


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
