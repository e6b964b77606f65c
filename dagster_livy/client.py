"""Synchronous REST client for Apache Livy (no Dagster): :class:`LivyClient`.

One class for callers, built by responsibility: transport.py (HTTP, retries, errors, the calls
batches and sessions share, server health), sessions.py (interactive sessions and statements)
and, here, the batch API. ``from dagster_livy.client import LivyClient`` is the public import.
"""

from __future__ import annotations

from dagster_livy.errors import LivyNotFoundError
from dagster_livy.models import Batch, LivyState, LogPage
from dagster_livy.sessions import LivySessionsAPI
from dagster_livy.transport import IdOrName, LivyTransport, _batch_ctx

__all__ = ["IdOrName", "LivyClient", "LivyTransport"]


class LivyClient(LivySessionsAPI):
    """Client for one Livy server: batches, interactive sessions, statements.

    ``url`` is the server root (``http://host:8998``); ``path_prefix`` is appended for gateways
    (Knox: ``/gateway/default/livy/v1``). ``verify`` is a bool or a CA bundle path. ``retries``
    is the number of *re*-tries of idempotent calls. ``sleep``/``clock`` are injectable for tests.
    Use as a context manager or call :meth:`close`.
    """

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
