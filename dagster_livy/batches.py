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
from dagster_livy.polling import BATCH_POLL, Pacer, PollPolicy

__all__ = ["BatchResult", "BatchRunner", "PollPolicy"]  # PollPolicy's home is dagster_livy.polling

LOG_TAIL_LINES = 50
# Lines the window of `GET /batches/{name}` cannot give (more new lines than it shows) are read
# from the log page; that read may wait this long, so a chatty batch costs one page per this
# many seconds rather than one per poll, unless Livy's ring buffer could wrap first (below).
PAGE_DEFER_S = 5.0
# livy.cache-log.size's default: lines kept per batch (or more, once a longer page was seen).
# A deferred page is read before half of it could have been printed, at the rate measured while
# the previous page waited; after a pause in the output the rate is measured afresh (page at
# once). So output that speeds up over 2x within a chatty stretch can overrun a 200-line buffer:
# that loss is counted (BatchResult.log_gaps) and every later page is read at once. This
# project's Livy keeps 5000 lines (livy/conf/livy.conf.template).
LIVY_LOG_BUFFER = 200
# Read the log page at least this often while the newest lines repeat themselves (output that
# repeats its last lines exactly cannot be told apart from no output by the window).
PAGE_AT_LEAST_EVERY_S = 30.0
# After the end the log page is read once more. A batch Livy runs as a local spark-submit process
# (SparkProcApp: local master or standalone; its batch object has no appId) is reported ended only
# after spark-submit exited and its output reader reached EOF (LineBufferedProcess.waitFor joins
# the reader threads; same in 0.7.1 and 0.9.0), so one page read right after the terminal answer
# is the whole log. It is still needed: BatchSessionServlet builds the answer's window before it
# reads the state, so a terminal answer can lack the last lines. A batch with an appId (YARN,
# Kubernetes: the state comes from the cluster manager, and spark-submit's output may still
# grow) is read LOG_SETTLE_S after the end, and again until its log stops growing (bounded by
# LOG_SETTLE_MAX_S).
LOG_SETTLE_S = 0.5
LOG_SETTLE_MAX_S = 5.0
# While a batch runs, a "still running (state, elapsed)" line every this many seconds.
PROGRESS_EVERY_S = 30.0


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
    # Seconds from the last non-terminal poll's answer to the terminal one's (reads made after the
    # terminal answer are not in it): an upper bound on how late the end was seen.
    end_detected_s: float | None = None
    driver_log: str | None = None  # the stored copy of the full driver log (LivyResource.run_batch)


@dataclass
class _Watch:
    batch: Batch
    tail: LivyLogTail | None = None
    reattached: bool = False
    resubmitted: bool = False
    requests: int = 0
    log_lines: list[str] = field(default_factory=list)
    last_window: list[str] | None = None  # the batch's newest log lines at the last poll
    last_page_at: float = float("-inf")
    page_owed_since: float | None = None  # the window could not give the lines since then
    rate: float | None = None  # lines/s printed while the last owed page waited (inf after a gap)


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
        on_event: called with human-readable progress messages: the submission, state changes,
            and every `progress_every_s` a "still running (state, elapsed)" line.
        progress_every_s: the period of that line (no request of its own).
        keep_running_on: a test on the exception that ends the wait early; True leaves the
            batch running instead of deleting it (the Dagster resource passes "the run was
            terminated" when termination is not to be forwarded). Default: always delete.
        page_defer_s: how late lines the newest-lines window cannot give may be delivered (a
            log page read each time, so a batch printing over 9 lines a second costs about
            60 / page_defer_s requests a minute on top of the polls); Livy's buffer is never
            let wrap in between. Default PAGE_DEFER_S.
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
        progress_every_s: float = PROGRESS_EVERY_S,
        keep_running_on: Callable[[BaseException], bool] | None = None,
        page_defer_s: float = PAGE_DEFER_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.poll = poll or BATCH_POLL
        self.max_wait_s = max_wait_s
        self.unreachable_grace_s = unreachable_grace_s
        self.delete_on_completion = delete_on_completion
        self.on_lines = on_lines or (lambda lines: None)
        self.on_event = on_event or (lambda msg: None)
        self.progress_every_s = progress_every_s
        self.keep_running_on = keep_running_on
        self.page_defer_s = page_defer_s
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
            keep = (not finished and error is not None and self.keep_running_on is not None
                    and self.keep_running_on(error))
            if keep:
                self.on_event(f"Left Livy batch {name} running on purpose: the wait was stopped "
                              f"({type(error).__name__}) and is not to be forwarded to the batch; it runs on "
                              "unwatched. DELETE it on the Livy server if it must not finish")
            elif not not_ours and (not finished or self.delete_on_completion):
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
        # A new batch (or a resubmission): nothing seen, nothing known of its output rate.
        watch.last_window = None
        watch.page_owed_since = None
        watch.rate = None
        watch.last_page_at = float("-inf")

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
        pacer = Pacer(self.poll, clock=self._clock, sleep=self._sleep)
        last_ok = self._clock()
        last_state = watch.batch.state
        last_poll_at = None
        next_progress = started + self.progress_every_s
        while True:
            pacer.wait()  # the submission's answer carried the first state: poll after one interval
            try:
                name = watch.batch.name or body["name"]  # changes if the batch was resubmitted
                # One request: the batch carries its state and newest log lines; the log page
                # is read only when those cannot give the new lines (see _read_log).
                pacer.mark()
                watch.requests += 1
                polled = self.client.get_batch(name, expect_name=name)
                answered = last_ok = self._clock()
                state = polled.state
                watch.batch = polled
                # At the end the lines the window cannot give come from the read after the end.
                lines = self._read_log(watch, polled.log, final=state.is_terminal)
            except LivyNotFoundError:
                answered = last_ok = self._clock()  # Livy answered
                try:
                    state, lines = self._resubmit_forgotten(body, watch), []
                except LivyConnectionError as exc:  # a restarting server: still coming up
                    self._ride_out(exc, last_ok, name)
                    continue
            except LivyConnectionError as exc:
                self._ride_out(exc, last_ok, name)
                continue
            self._deliver(watch, lines)
            now = self._clock()
            if state.is_terminal:
                return state, (answered - last_poll_at) if last_poll_at is not None else None
            # Human-facing lines leave the (long) batch name out: "Submitted" gave it with its URL.
            if state != last_state:
                self.on_event(f"Livy batch {last_state.value} -> {state.value} "
                              f"({_elapsed(now - started)} elapsed)")
            elif now >= next_progress:
                # No request of its own: the state is the one just polled.
                self.on_event(f"Livy batch still {state.value} ({_elapsed(now - started)} elapsed)")
            if state != last_state or now >= next_progress:
                next_progress = now + self.progress_every_s
            if self.max_wait_s is not None and now - started > self.max_wait_s:
                raise LivyTimeoutError(
                    f"Livy batch {name} still {state.value} after {self.max_wait_s:.0f}s; deleting it",
                    waited_s=now - started, last_state=state.value, batch_id=watch.batch.id,
                    batch_name=name, url=self.batch_url(name))
            last_state, last_poll_at = state, answered

    def _deliver(self, watch: _Watch, lines: list[str]) -> None:
        if lines:
            watch.log_lines.extend(lines)
            del watch.log_lines[:-LOG_TAIL_LINES]
            self.on_lines(lines)

    def _ride_out(self, exc: LivyConnectionError, last_ok: float, name: str) -> None:
        """Wait through an unreachable period; give up once it lasts over the grace."""
        if self._clock() - last_ok > self.unreachable_grace_s:
            raise LivyConnectionError(
                f"Livy unreachable for over {self.unreachable_grace_s:.0f}s while batch {name} ran: {exc}",
                url=self.client.base_url, batch_name=name) from exc
        self._sleep(self.poll.max_s)

    def _read_log(self, watch: _Watch, newest: list[str], *, final: bool = False) -> list[str]:
        """New driver-log lines: from the polled batch's newest lines when they suffice, else a page.

        The window (the last 10 log entries, see logs.py) gives the new lines without a request
        when it overlaps what was seen (LivyLogTail.from_window). When it cannot (more new lines
        than it shows, no view access, repeating output), lines may have been missed and the log
        page is read: after a gap, or when Livy's buffer could wrap before the next read;
        otherwise within `page_defer_s` (lines are late, never lost); at the end by the read after
        the end (`final`: no page here). While a page is owed the window is not used, so lines
        keep their order.
        """
        now = self._clock()
        if watch.page_owed_since is None and not (
                _repeats(newest) and now - watch.last_page_at >= PAGE_AT_LEAST_EVERY_S):
            fresh = watch.tail.from_window(newest)
            if fresh is not None:
                watch.last_window = list(newest)
                return fresh
            watch.page_owed_since = now
        if final:
            return []  # the page read after the end (_read_rest) gives them, in order
        # No newest lines at all (no view access): nothing to measure the output by, page at once.
        if newest and not self._page_due(watch, now):
            return []
        return self._read_page(watch, now)

    def _page_due(self, watch: _Watch, now: float) -> bool:
        """Whether the owed page must be read now rather than at a later poll."""
        if watch.rate is None or watch.page_owed_since is None:
            return True  # no current measure of this batch's output rate
        if watch.page_owed_since - watch.last_page_at > self.page_defer_s + self.poll.max_s:
            return True  # the output paused since the rate was measured: measure it again
        # Lines still fit Livy's buffer (with a 2x margin for a faster burst) at the next poll?
        buffer = max(LIVY_LOG_BUFFER, watch.tail.max_total - 2)
        printed_by_next_poll = watch.rate * (now - watch.page_owed_since + 2 * self.poll.max_s)
        return printed_by_next_poll >= buffer / 2 or now - watch.page_owed_since >= self.page_defer_s

    def _read_page(self, watch: _Watch, now: float) -> list[str]:
        gaps = watch.tail.gaps
        fresh = watch.tail.poll()
        if watch.tail.gaps > gaps:
            watch.rate = float("inf")  # lines were lost: from now on read the page at once
        elif watch.page_owed_since is not None and watch.rate != float("inf"):
            # The lines the window could not give were printed since the poll before it failed.
            watch.rate = len(fresh) / (now - watch.page_owed_since + self.poll.max_s)
        watch.last_page_at = now
        watch.page_owed_since = None
        return fresh

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

    def _read_rest(self, watch: _Watch, state: LivyState) -> None:
        """The ended batch's lines not read yet: one page for a local process (no appId) that
        succeeded, else read until the log has stopped growing (see LOG_SETTLE_S). A failure
        without an appId may be a YARN/Kubernetes submit that never got one, whose spark-submit
        can still be writing its error: those lines are what the user needs, worth the wait."""
        if watch.batch.app_id is None and not state.is_failure:
            self._deliver(watch, watch.tail.poll())
            return
        began = quiet_since = self._clock()
        while True:
            self._sleep(LOG_SETTLE_S)
            now = self._clock()
            rest = watch.tail.drain()
            if rest:
                self._deliver(watch, rest)
                quiet_since = now
            if now - quiet_since >= LOG_SETTLE_S or now - began >= LOG_SETTLE_MAX_S:
                return

    def _finish(self, watch: _Watch, state: LivyState, started: float,
                end_detected_s: float | None) -> BatchResult:
        name = watch.batch.name
        self._read_rest(watch, state)
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


def _repeats(window: list[str]) -> bool:
    """A window with a line twice: repeating output the window alone cannot count."""
    return len(set(window)) < len(window)


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
