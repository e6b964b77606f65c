"""Synchronous REST client for Apache Livy (batches, interactive sessions, statements).

Built on one ``requests.Session``. Idempotent calls (GET, DELETE) are retried with exponential
backoff and full jitter; POSTs are never retried blindly (see :meth:`LivyClient.submit_batch`).
"""

from __future__ import annotations

import json
import random
import time
from typing import Any, Callable, TypeVar
from urllib.parse import quote

import requests
from requests.auth import AuthBase
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from dagster_livy.bodies import build_statement_body
from dagster_livy.errors import (
    LivyConfigError, LivyConnectionError, LivyDuplicateNameError, LivyError, LivyHTTPError,
    LivyNotFoundError, LivyStatementError, LivyTimeoutError, NotALivyServerError, excerpt, http_error,
    is_ambiguous,
)
from dagster_livy.logs import strip_framing
from dagster_livy.models import (
    SESSION_TERMINAL_STATES, Batch, LivyState, LogPage, Session, Statement, StatementState,
)

_RETRY_STATUSES = frozenset({502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "DELETE", "HEAD"})
IdOrName = int | str
_M = TypeVar("_M", Batch, Session)


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request provably never reached the server (refused / connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", exc.args[0])  # urllib3 MaxRetryError.reason
        return isinstance(reason, (NewConnectionError, ConnectTimeoutError))
    return False


def _segment(id_or_name: IdOrName) -> str:
    return str(id_or_name) if isinstance(id_or_name, int) else quote(str(id_or_name), safe="")


def _batch_ctx(id_or_name: IdOrName) -> dict[str, Any]:
    if isinstance(id_or_name, int) or str(id_or_name).isdigit():
        return {"batch_id": int(id_or_name)}
    return {"batch_name": str(id_or_name)}


class LivyClient:
    """Client for one Livy server. Use as a context manager or call :meth:`close`.

    ``url`` is the server root (``http://host:8998``); ``path_prefix`` is appended for gateways
    (Knox: ``/gateway/default/livy/v1``). ``verify`` is a bool or a CA bundle path. ``retries``
    is the number of *re*-tries of idempotent calls. ``sleep``/``clock`` are injectable for tests.
    """

    def __init__(
        self,
        url: str,
        *,
        auth: AuthBase | tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        verify: bool | str = True,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        path_prefix: str = "",
        retries: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not url or "://" not in url:
            raise LivyConfigError(f"url must be an absolute http(s) URL, got {url!r}")
        if retries < 0:
            raise LivyConfigError(f"retries must be >= 0, got {retries}")
        prefix = path_prefix.strip("/")
        self.base_url = url.rstrip("/") + (f"/{prefix}" if prefix else "")
        self.timeout = timeout
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._clock = clock
        self._owns_session = session is None
        self._http = session if session is not None else requests.Session()
        self._http.verify = verify
        if auth is not None:
            self._http.auth = auth
        # Livy's CSRF filter rejects non-GET requests without X-Requested-By.
        self._http.headers.update({"X-Requested-By": "dagster-livy", "Accept": "application/json"})
        self._http.headers.update(headers or {})

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> LivyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session (only if this client created it)."""
        if self._owns_session:
            self._http.close()

    def __repr__(self) -> str:
        return f"LivyClient({self.base_url!r})"

    # -- transport -----------------------------------------------------------------------
    def _url(self, *segments: IdOrName) -> str:
        return "/".join([self.base_url, *(_segment(s) for s in segments)])

    def _backoff(self, attempt: int) -> None:
        cap = min(self.max_backoff_s, self.backoff_s * (2**attempt))
        self._sleep(random.uniform(0, cap))  # full jitter: spreads out herds of clients

    def _request(
        self, method: str, segments: tuple[IdOrName, ...], *, body: dict | None = None,
        params: dict | None = None, ctx: dict[str, Any] | None = None, retry_refused: bool = True,
    ) -> Any:
        """Send one call, retrying idempotent ones; return the decoded JSON (or None).

        ``retry_refused=False``: a refused connection fails at once (nothing listens there;
        waiting will not help a health probe), other connection failures are still retried."""
        url = self._url(*segments)
        ctx = dict(ctx or {}, method=method, url=url)
        attempts = 1 + (self.retries if method in _IDEMPOTENT else 0)
        kwargs: dict[str, Any] = {"params": params, "timeout": self.timeout}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                resp = self._http.request(method, url, **kwargs)
            except requests.exceptions.SSLError as exc:
                raise LivyConnectionError(f"TLS error talking to Livy: {exc}", **ctx) from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                refused = _never_sent(exc) and not isinstance(exc, requests.exceptions.ConnectTimeout)
                if not last and (retry_refused or not refused):
                    self._backoff(attempt)
                    continue
                raise self._connection_error(exc, attempt + 1, ctx) from exc
            if resp.status_code in _RETRY_STATUSES and not last:
                self._backoff(attempt)
                continue
            if not 200 <= resp.status_code < 300:
                raise http_error(resp.status_code, resp.text, **ctx)
            if not resp.content:
                return None
            try:
                return resp.json()
            except ValueError as exc:
                err = LivyHTTPError(
                    "Livy answered with a body that is not JSON (wrong URL or path prefix?): "
                    + excerpt(resp.text), status_code=resp.status_code, body=resp.text[:2000], **ctx)
                err.body_in_message = True
                raise err from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection_error(
        self, exc: requests.RequestException, attempts: int, ctx: dict[str, Any]
    ) -> LivyConnectionError:
        sent = not _never_sent(exc)
        where = f"Livy at {self.base_url}"
        if not sent and not isinstance(exc, requests.exceptions.ConnectTimeout):
            why = f"connection refused: {where} is not running (or the URL/port is wrong)"
        elif isinstance(exc, requests.Timeout):
            why = f"no answer within {self.timeout}s: {where} may be down or overloaded"
        else:
            why = f"the connection to {where} broke mid-request (reset/aborted)"
        return LivyConnectionError(
            f"{why} ({attempts} attempt(s), last error {type(exc).__name__})",
            request_sent=sent, **ctx,
        )

    # -- generic resource calls (batches and sessions share the REST shape) ------------------
    def _ctx(self, kind: str, id_or_name: IdOrName) -> dict[str, Any]:
        return _batch_ctx(id_or_name) if kind == "batches" else {}

    def _get_state(self, kind: str, id_or_name: IdOrName) -> LivyState:
        d = self._request("GET", (kind, id_or_name, "state"), ctx=self._ctx(kind, id_or_name))
        return LivyState((d or {}).get("state") or "unknown")

    def _get_log(
        self, kind: str, id_or_name: IdOrName, offset: int | None, size: int | None
    ) -> LogPage:
        params = {k: v for k, v in (("from", offset), ("size", size)) if v is not None}
        return LogPage.from_json(self._request(
            "GET", (kind, id_or_name, "log"), params=params, ctx=self._ctx(kind, id_or_name)))

    def _list(self, kind: str, model: type[_M], offset: int, size: int) -> list[_M]:
        d = self._request("GET", (kind,), params={"from": offset, "size": size}) or {}
        return [model.from_json(x) for x in d.get("sessions") or []]

    def _delete(self, kind: str, id_or_name: IdOrName) -> None:
        try:
            self._request("DELETE", (kind, id_or_name), ctx=self._ctx(kind, id_or_name))
        except LivyNotFoundError:
            pass  # already gone: the caller wanted it gone

    def _find_by_name(self, kind: str, name: str, model: type[_M]) -> _M | None:
        if not name or name.isdigit():
            # An all-digit segment would be looked up as an id.
            raise LivyConfigError(f"name must be non-empty and not all digits, got {name!r}")
        try:
            found = model.from_json(self._request("GET", (kind, name), ctx=self._ctx(kind, name)))
        except LivyNotFoundError:
            return None
        # Never trust a by-name answer blindly (gateways, servers resolving it as an id).
        return found if found.name == name else None

    # -- server --------------------------------------------------------------------------
    def version(self) -> dict:
        """``GET /version``: ``{version, user, revision, branch, date, url}``."""
        return self._request("GET", ("version",)) or {}

    def health(self) -> dict:
        """``GET /version``, checked: the answer must be Livy's.

        Raises :class:`LivyConnectionError` at once when the connection is refused (nothing
        listens: no retries, so a wrong port is reported in about a second), and
        :class:`NotALivyServerError` with a short excerpt of the answer when something else
        answers (another service on the port, a wrong path prefix).
        """
        try:
            d = self._request("GET", ("version",), retry_refused=False)
        except LivyHTTPError as exc:
            if exc.status_code in (401, 403, 407) or (exc.status_code or 0) >= 500 and exc.status_code != 501:
                raise  # an auth gateway, or a Livy (or its gateway) in trouble: not another server
            raise self._not_livy(f"answered HTTP {exc.status_code}", exc) from exc
        if not isinstance(d, dict) or "version" not in d:
            raise self._not_livy("answered JSON without Livy's `version` field", None, json.dumps(d))
        return d

    def _not_livy(self, what: str, cause: LivyHTTPError | None, body: str | None = None) -> NotALivyServerError:
        body = cause.body if cause is not None else body
        err = NotALivyServerError(
            f"{self.base_url} is not a Livy server: GET /version {what}, not Livy's JSON "
            f"(another service on this port, or a wrong URL/path prefix?). It said: {excerpt(body or '')}",
            method="GET", url=self._url("version"), status_code=cause.status_code if cause else 200, body=body)
        err.body_in_message = True
        return err

    # -- batches -------------------------------------------------------------------------
    def submit_batch(self, body: dict) -> Batch:
        """``POST /batches``; safe against ambiguous failures when ``body`` has a ``name``.

        Why: a POST that failed after it may have reached Livy (reset, read timeout, 502/503/504
        from a gateway) may have started spark-submit; blindly re-POSTing could run the job
        twice. Livy enforces unique names among retained batches, so the name is an idempotency
        key: look the batch up by name (a GET, itself retried). Found -> it is ours, return it.
        Provably absent (404) -> re-POST once; a "Duplicate session name" answer to that re-POST
        means the first one landed after all, so look it up again. Without a name nothing can be
        proven and the error is raised. A refused connection never reached the server and is
        retried like a GET. Names must therefore be unique per run (a retained batch of an
        earlier run with the same name would be returned).
        """
        return self._create("batches", body, Batch)

    def get_batch(self, id_or_name: IdOrName, *, expect_name: str | None = None) -> Batch:
        """``GET /batches/{id|name}``. ``expect_name`` guards against ids reused after a restart
        (a by-name lookup is always checked)."""
        d = self._request("GET", ("batches", id_or_name), ctx=_batch_ctx(id_or_name))
        batch = Batch.from_json(d)
        by_name = isinstance(id_or_name, str) and not id_or_name.isdigit()
        want = expect_name if expect_name is not None else (id_or_name if by_name else None)
        if want is not None and batch.name != want:
            raise LivyNotFoundError(
                f"batch {id_or_name} is now named {batch.name!r}, not {want!r} "
                "(Livy restarted and reused the id?)",
                method="GET", url=self._url("batches", id_or_name),
                batch_id=batch.id, batch_name=str(want),
            )
        return batch

    def get_batch_state(self, id_or_name: IdOrName) -> LivyState:
        """``GET /batches/{x}/state``."""
        return self._get_state("batches", id_or_name)

    def get_batch_log(
        self, id_or_name: IdOrName, *, offset: int | None = None, size: int | None = None
    ) -> LogPage:
        """``GET /batches/{x}/log``; ``size=-1`` returns all retained lines (see logs.py)."""
        return self._get_log("batches", id_or_name, offset, size)

    def list_batches(self, *, offset: int = 0, size: int = 100) -> list[Batch]:
        """``GET /batches``."""
        return self._list("batches", Batch, offset, size)

    def delete_batch(self, id_or_name: IdOrName) -> None:
        """``DELETE /batches/{x}`` (kills spark-submit). Already gone (404) is not an error."""
        self._delete("batches", id_or_name)

    def find_batch_by_name(self, name: str) -> Batch | None:
        """The retained batch with exactly this name, or None."""
        return self._find_by_name("batches", name, Batch)

    # -- interactive sessions --------------------------------------------------------------
    def create_session(self, body: dict) -> Session:
        """``POST /sessions`` (same by-name recovery as :meth:`submit_batch`)."""
        return self._create("sessions", body, Session)

    def get_session(self, id_or_name: IdOrName) -> Session:
        return Session.from_json(self._request("GET", ("sessions", id_or_name)))

    def get_session_state(self, id_or_name: IdOrName) -> LivyState:
        return self._get_state("sessions", id_or_name)

    def get_session_log(
        self, id_or_name: IdOrName, *, offset: int | None = None, size: int | None = None
    ) -> LogPage:
        return self._get_log("sessions", id_or_name, offset, size)

    def list_sessions(self, *, offset: int = 0, size: int = 100) -> list[Session]:
        return self._list("sessions", Session, offset, size)

    def delete_session(self, id_or_name: IdOrName) -> None:
        """``DELETE /sessions/{x}``; already gone (404) is not an error."""
        self._delete("sessions", id_or_name)

    def wait_for_session(
        self, session_id: IdOrName, *, timeout_s: float = 300.0, poll_s: float = 1.0
    ) -> Session:
        """Poll until ``idle``; LivyError (with the log tail) on error/dead/killed/success."""
        start = self._clock()
        while True:
            s = self.get_session(session_id)
            if s.state is LivyState.IDLE:
                return s
            if s.state in SESSION_TERMINAL_STATES:
                tail = strip_framing(self.get_session_log(session_id, size=50).lines)
                raise LivyError(
                    f"Livy session {s.id} ended in state {s.raw_state} before becoming idle. "
                    "Log tail:\n" + "\n".join(tail))
            waited = self._clock() - start
            if waited >= timeout_s:
                raise LivyTimeoutError(
                    f"Livy session {s.id} not idle after {waited:.0f}s (state {s.raw_state})",
                    waited_s=waited, last_state=s.raw_state)
            self._sleep(poll_s)

    # -- statements ------------------------------------------------------------------------
    def run_statement(
        self, session_id: IdOrName, code: str, kind: str | None = None
    ) -> Statement:
        """``POST /sessions/{x}/statements``; never retried (it would run the code twice)."""
        body = build_statement_body(code, kind)
        return Statement.from_json(
            self._request("POST", ("sessions", session_id, "statements"), body=body))

    def get_statement(self, session_id: IdOrName, statement_id: int) -> Statement:
        path = ("sessions", session_id, "statements", statement_id)
        return Statement.from_json(self._request("GET", path))

    def cancel_statement(self, session_id: IdOrName, statement_id: int) -> None:
        self._request("POST", ("sessions", session_id, "statements", statement_id, "cancel"))

    def execute(
        self, session_id: IdOrName, code: str, *, kind: str | None = None,
        timeout_s: float = 600.0, poll_s: float = 0.5,
    ) -> Statement:
        """Run ``code`` and wait for its result; LivyStatementError on error output.

        On timeout the statement is cancelled first, then LivyTimeoutError is raised.
        """
        st = self.run_statement(session_id, code, kind)
        start = self._clock()
        while not st.state.is_terminal:
            waited = self._clock() - start
            if waited >= timeout_s:
                try:
                    self.cancel_statement(session_id, st.id)
                except LivyError:
                    pass  # best effort: the timeout is the error to report
                raise LivyTimeoutError(
                    f"statement {st.id} of session {session_id} still {st.state.value} "
                    f"after {waited:.0f}s; cancel requested",
                    waited_s=waited, last_state=st.state.value)
            self._sleep(poll_s)
            st = self.get_statement(session_id, st.id)
        if st.state is StatementState.CANCELLED:
            raise LivyStatementError(
                f"statement {st.id} of session {session_id} was cancelled", ename="Cancelled")
        st.raise_for_error()
        return st

    # -- creation without blind POST retries --------------------------------------------------
    def _create(self, kind: str, body: dict, model: type[_M]) -> _M:
        name = body.get("name")
        ctx = self._ctx(kind, name) if name else {}
        try:
            return model.from_json(self._post_create(kind, body, ctx))
        except (LivyConnectionError, LivyHTTPError) as first:
            if not name or not is_ambiguous(first):
                raise
            found = self._lookup_after(first, kind, name, model)
            if found is not None:
                return found
        try:  # provably absent after an ambiguous failure: one more POST
            return model.from_json(self._post_create(kind, body, ctx))
        except (LivyConnectionError, LivyHTTPError) as second:
            if not (isinstance(second, LivyDuplicateNameError) or is_ambiguous(second)):
                raise
            found = self._lookup_after(second, kind, name, model)
            if found is None:
                raise
            return found

    def _lookup_after(self, cause: LivyError, kind: str, name: str, model: type[_M]) -> _M | None:
        try:
            return self._find_by_name(kind, name, model)
        except LivyError as lookup_exc:
            # Cannot tell whether the POST landed: report the POST failure, noting the lookup's.
            cause.add_note(f"lookup of {kind}/{name} by name also failed: {lookup_exc}")
            raise cause from cause.__cause__

    def _post_create(self, kind: str, body: dict, ctx: dict[str, Any]) -> Any:
        for attempt in range(self.retries + 1):
            try:
                return self._request("POST", (kind,), body=body, ctx=ctx)
            except LivyConnectionError as exc:
                if exc.request_sent is not False or attempt == self.retries:
                    raise
                self._backoff(attempt)  # never reached the server: as safe as a GET
        raise AssertionError("unreachable")  # pragma: no cover
