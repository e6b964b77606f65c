"""Run one Livy batch to its end: submit or reattach, poll, stream the log, clean up.

Dagster-free: the Dagster resource and the Pipes client both drive this loop and only supply
callbacks for log lines and events. The batch is always addressed by its unique name, never by
id: a Livy server in local mode forgets every batch on restart and hands out ids from 0 again,
so an id can silently become somebody else's batch, while a name cannot.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from dagster_livy.client import LivyClient
from dagster_livy.errors import (
    LivyBatchFailedError,
    LivyBatchLostError,
    LivyConnectionError,
    LivyError,
    LivyNotFoundError,
    LivyTimeoutError,
    is_ambiguous,
)
from dagster_livy.logs import LivyLogTail
from dagster_livy.models import Batch, LivyState

LOG_TAIL_LINES = 50
# Read the log page at least this often even when the batch's newest lines look unchanged.
PAGE_AT_LEAST_EVERY_S = 30.0
# Livy flips a batch to its final state when spark-submit exits, while its stdout reader may
# still be appending the last lines (the driver's traceback, the final Pipes messages): after the
# end, the log is read until it stops growing for this long (bounded by LOG_SETTLE_MAX_S).
LOG_SETTLE_S = 0.5
LOG_SETTLE_MAX_S = 5.0


@dataclass(frozen=True)
class PollPolicy:
    """Adaptive polling: fast right after a state change, backing off to `max_s` otherwise.

    Each poll is one request (`GET /batches/{name}`: the state and the newest log lines), plus
    the log page when those lines changed. With the defaults the end of a batch is seen within
    about a second; a quiet running batch settles at about one request a second, one printing
    every second at two (new log lines do not speed polling up).
    """

    initial_s: float = 0.25
    max_s: float = 1.0
    factor: float = 1.5

    def __post_init__(self) -> None:
        if not (0 < self.initial_s <= self.max_s) or self.factor < 1:
            raise ValueError(f"invalid poll policy {self}: need 0 < initial_s <= max_s and factor >= 1")

    def next(self, current: float, activity: bool) -> float:
        return self.initial_s if activity else min(self.max_s, current * self.factor)


@dataclass(frozen=True)
class BatchResult:
    """What a finished batch left behind, for Dagster metadata and callers."""

    name: str
    batch_id: int
    state: LivyState
    livy_url: str
    app_id: str | None
    spark_ui_url: str | None
    driver_log_url: str | None
    duration_s: float
    log_tail: tuple[str, ...]
    reattached: bool = False
    resubmitted: bool = False
    log_gaps: int = 0
    requests: int = 0
    end_detected_s: float | None = None  # seconds from the last non-terminal poll to detection
    driver_log: str | None = None  # the stored copy of the full driver log (LivyResource.run_batch)


@dataclass
class _Watch:
    batch: Batch
    tail: LivyLogTail | None = None
    reattached: bool = False
    resubmitted: bool = False
    requests: int = 0
    log_lines: list[str] = field(default_factory=list)
    last_window: list[str] | None = None  # the batch's newest log lines at the last page read
    last_page_at: float = float("-inf")


class BatchRunner:
    """Submit (or reattach to) a named batch and wait for its end.

    Args:
        client: the Livy client.
        poll: the polling policy.
        max_wait_s: give up after this long: the batch is deleted, LivyTimeoutError raised.
        unreachable_grace_s: how long Livy may be unreachable mid-batch before giving up.
        delete_on_completion: delete the finished batch (frees its name; no batch outlives
            the run that created it). Its log has been streamed by then.
        on_lines: called with each poll's new driver-log lines (Pipes messages included).
        on_event: called with human-readable progress messages.
    """

    def __init__(
        self,
        client: LivyClient,
        *,
        poll: PollPolicy | None = None,
        max_wait_s: float | None = None,
        unreachable_grace_s: float = 120.0,
        delete_on_completion: bool = True,
        on_lines: Callable[[list[str]], None] | None = None,
        on_event: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.poll = poll or PollPolicy()
        self.max_wait_s = max_wait_s
        self.unreachable_grace_s = unreachable_grace_s
        self.delete_on_completion = delete_on_completion
        self.on_lines = on_lines or (lambda lines: None)
        self.on_event = on_event or (lambda msg: None)
        self._clock = clock
        self._sleep = sleep

    def batch_url(self, name: str) -> str:
        return f"{self.client.base_url}/batches/{name}"

    def run(self, body: dict, *, previous_names: Sequence[str] = ()) -> BatchResult:
        """Run the batch described by `body` (which must carry a unique `name`).

        `previous_names`: names earlier attempts of the same step used; if one of those batches
        is still running, it is reattached instead of submitting a duplicate.
        """
        name = body.get("name")
        if not name:
            raise LivyError("a batch run needs a unique `name` in its body (see dagster_livy.naming)")
        self.client.health()
        watch: _Watch | None = None
        started = self._clock()
        finished = False
        try:
            # Inside the try: a run terminated right after the POST (Dagster raises the interrupt
            # wherever the step is, e.g. while logging "Submitted") must still delete the batch.
            watch, message = self._submit_or_reattach(body, previous_names)
            self.on_event(message)
            started = self._clock()
            state, end_detected_s = self._wait(body, watch, started)
            finished = True
            return self._finish(watch, state, started, end_detected_s)
        finally:
            # Timeout, failure to poll, or the run being terminated: the batch must not outlive
            # us. The batch watched *now*: after a reattach and a resubmission it carries this
            # attempt's name, not the old one. No watch yet: interrupted around the POST, so the
            # batch may exist under this attempt's name (deleting an absent name is a no-op).
            name = watch.batch.name if watch is not None and watch.batch.name else body["name"]
            # A LivyError before there was a watch means the POST was refused (e.g. a duplicate
            # name: that batch is not ours to delete), unless it may have landed (ambiguous).
            error = sys.exc_info()[1]
            not_ours = watch is None and isinstance(error, LivyError) and not is_ambiguous(error)
            if not not_ours and (not finished or self.delete_on_completion):
                try:
                    self.client.delete_batch(name)
                    if not finished:
                        self.on_event(f"Deleted Livy batch {name} (run interrupted or gave up)")
                except LivyError as exc:  # best effort: never mask the original outcome
                    self.on_event(f"Could not delete Livy batch {name}: {exc}")

    # -- steps -----------------------------------------------------------------------------
    def _watch(self, batch: Batch, name: str, **flags: bool) -> _Watch:
        watch = _Watch(batch=batch, **flags)
        self._new_tail(watch, name)
        return watch

    def _new_tail(self, watch: _Watch, name: str) -> None:
        """A fresh log reader for the watched batch; it counts its requests on the watch."""
        def fetch(offset: int | None, size: int | None):
            watch.requests += 1
            return self.client.get_batch_log(name, offset=offset, size=size)

        watch.tail = LivyLogTail(fetch)
        watch.last_window = None  # a new batch: its first poll reads the page

    def _submit_or_reattach(self, body: dict, previous_names: Sequence[str]) -> tuple[_Watch, str]:
        """The watch and the event to report (reported by the caller once the watch is held)."""
        name = body["name"]
        for candidate in (name, *previous_names):
            existing = self.client.find_batch_by_name(candidate)
            if existing is not None and not existing.state.is_terminal:
                return self._watch(existing, candidate, reattached=True), (
                    f"Reattached to running Livy batch {candidate} (id {existing.id}): {self.batch_url(candidate)}")
        batch = self.client.submit_batch(body)
        return self._watch(batch, name), f"Submitted Livy batch {name} (id {batch.id}): {self.batch_url(name)}"

    def _wait(self, body: dict, watch: _Watch, started: float) -> tuple[LivyState, float | None]:
        name = watch.batch.name or body["name"]
        interval = self.poll.initial_s
        last_ok = self._clock()
        last_state = watch.batch.state
        last_poll_at = None
        while True:
            try:
                name = watch.batch.name or body["name"]  # changes if the batch was resubmitted
                # One request: the batch carries its state and newest log lines; the log page
                # is read only when those changed (see _read_log).
                watch.requests += 1
                polled = self.client.get_batch(name, expect_name=name)
                state = polled.state
                lines = self._read_log(watch, polled.log)
                watch.batch = polled
                last_ok = self._clock()
            except LivyNotFoundError:
                last_ok = self._clock()  # Livy answered
                try:
                    state, lines = self._resubmit_forgotten(body, watch), []
                except LivyConnectionError as exc:  # a restarting server: still coming up
                    self._ride_out(exc, last_ok, name)
                    continue
            except LivyConnectionError as exc:
                self._ride_out(exc, last_ok, name)
                continue
            if lines:
                watch.log_lines.extend(lines)
                del watch.log_lines[:-LOG_TAIL_LINES]
                self.on_lines(lines)
            now = self._clock()
            if state.is_terminal:
                return state, (now - last_poll_at) if last_poll_at is not None else None
            if state != last_state:
                self.on_event(f"Livy batch {name}: {last_state.value} -> {state.value}")
            if self.max_wait_s is not None and now - started > self.max_wait_s:
                raise LivyTimeoutError(
                    f"Livy batch {name} still {state.value} after {self.max_wait_s:.0f}s; deleting it",
                    waited_s=now - started, last_state=state.value, batch_id=watch.batch.id,
                    batch_name=name, url=self.batch_url(name))
            interval = self.poll.next(interval, activity=state != last_state)
            last_state, last_poll_at = state, now
            self._sleep(interval)

    def _ride_out(self, exc: LivyConnectionError, last_ok: float, name: str) -> None:
        """Wait through an unreachable period; give up once it lasts over the grace."""
        if self._clock() - last_ok > self.unreachable_grace_s:
            raise LivyConnectionError(
                f"Livy unreachable for over {self.unreachable_grace_s:.0f}s while batch {name} ran: {exc}",
                url=self.client.base_url, batch_name=name) from exc
        self._sleep(self.poll.max_s)

    def _read_log(self, watch: _Watch, newest: list[str]) -> list[str]:
        """New driver-log lines, reading the log page only when the batch's newest lines changed.

        The page stays the only source of lines, so LivyLogTail's no-duplicate/no-loss rules hold
        unchanged; the newest lines only decide whether a page is worth a request. Unchanged
        newest lines almost always mean no new output; output that repeats the very same last
        lines is still read, by the page forced every `PAGE_AT_LEAST_EVERY_S` (lines are late,
        never lost while Livy's ring buffer holds them). No newest lines (no view access) means
        a page every poll.
        """
        now = self._clock()
        if (newest and newest == watch.last_window
                and now - watch.last_page_at < PAGE_AT_LEAST_EVERY_S):
            return []
        watch.last_window = list(newest)
        watch.last_page_at = now
        return watch.tail.poll()

    def _resubmit_forgotten(self, body: dict, watch: _Watch) -> LivyState:
        # Livy no longer knows the name: it restarted (local mode keeps nothing) or dropped the
        # batch. Resubmit once; the jobs are idempotent, a second loss is an error.
        name = body["name"]
        if watch.resubmitted:
            raise LivyBatchLostError(f"Livy lost batch {name} twice (restarted again?); giving up",
                                     url=self.client.base_url, batch_name=name)
        self.on_event(f"Livy no longer knows batch {name} (server restarted?); resubmitting it once")
        self._new_tail(watch, name)  # before the POST: a POST that landed unseen starts a new log too
        watch.batch = self.client.submit_batch(body)
        watch.resubmitted = True
        return watch.batch.state

    def _settle_log(self, watch: _Watch) -> None:
        """Read the ended batch's log until it has stopped growing (see LOG_SETTLE_S)."""
        began = quiet_since = self._clock()
        while True:
            rest = watch.tail.drain()
            now = self._clock()
            if rest:
                watch.log_lines.extend(rest)
                del watch.log_lines[:-LOG_TAIL_LINES]
                self.on_lines(rest)
                quiet_since = now
            if now - quiet_since >= LOG_SETTLE_S or now - began >= LOG_SETTLE_MAX_S:
                return
            self._sleep(self.poll.initial_s)

    def _finish(self, watch: _Watch, state: LivyState, started: float,
                end_detected_s: float | None) -> BatchResult:
        name = watch.batch.name
        self._settle_log(watch)
        batch = watch.batch  # the terminal poll's answer: no extra request
        duration = self._clock() - started
        tail = tuple(watch.log_lines[-LOG_TAIL_LINES:])
        if state.is_failure:
            raise LivyBatchFailedError(state=state.value, log_tail=list(tail), batch_id=batch.id,
                                       batch_name=name, url=self.batch_url(name))
        return BatchResult(
            name=name, batch_id=batch.id, state=state, livy_url=self.batch_url(name),
            app_id=batch.app_id, spark_ui_url=batch.spark_ui_url, driver_log_url=batch.driver_log_url,
            duration_s=duration, log_tail=tail, reattached=watch.reattached,
            resubmitted=watch.resubmitted, log_gaps=watch.tail.gaps,
            requests=watch.requests + 1, end_detected_s=end_detected_s,
        )
