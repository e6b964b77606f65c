"""HTTP transport to one Livy server (no Dagster): retries, errors, shared resource calls.

Built on one ``requests.Session``. Idempotent calls (GET, DELETE) are retried with exponential
backoff and full jitter; POSTs are never retried blindly (see :meth:`LivyTransport._create`).
The batch and session API on top: client.py (batches, :class:`LivyClient`) and sessions.py.
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

from dagster_livy.errors import (
    LivyConfigError, LivyConnectionError, LivyDuplicateNameError, LivyError, LivyHTTPError,
    LivyNotFoundError, NotALivyServerError, excerpt, http_error, is_ambiguous,
)
from dagster_livy.models import Batch, LivyState, LogPage, Session
from dagster_livy.naming import check_name

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

class LivyTransport:
    """HTTP to one Livy server: retries, errors, and the calls batches and sessions share.

    :class:`dagster_livy.client.LivyClient` builds the batch and session API on it. Use the
    client as a context manager or call :meth:`close`.

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
    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session (only if this client created it)."""
        if self._owns_session:
            self._http.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"
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
        check_name(name)  # an all-digit segment would be looked up as an id
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
