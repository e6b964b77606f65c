"""Incremental reader of a Livy batch/session log (``GET /batches/{x}/log``).

How Livy 0.7.1 builds the log (server/.../utils/SparkProcApp.scala, LineBufferedStream.scala,
SessionServlet.serializeLogs, read at tag v0.7.1-incubating-rc1):

* spark-submit's stdout and stderr are each read line by line into their own ring buffer
  (``CircularQueue``) of ``livy.cache-log.size`` lines (default 200); the oldest line is
  dropped when a buffer is full. Every line also goes to the Livy server log.
* Each GET assembles ``["stdout: "] + stdout_buffer + ["\\nstderr: "] + stderr_buffer``
  (YARN adds ``["\\nYARN Diagnostics: "] + diagnostics``). ``total`` is the length of that
  assembled array, so it is capped at about ``2 * size + 2``: it is *not* a running count, and
  ``from`` is an index into the current array, not an absolute line number. Livy echoes the
  requested ``from``; it never reports lost lines. No absolute offset exists anywhere.
* Batches start spark-submit with ``redirectErrorStream(true)``: stderr is merged into stdout
  in true order, the stderr section stays empty and the ``"\\nstderr: "`` marker is always the
  last entry. Interactive sessions keep separate stdout/stderr buffers, so stderr lines sit
  after *all* stdout lines and their indices shift whenever stdout grows.

Design: every poll reads the whole retained log in one request (``from=0, size=-1``: each
buffer is copied under its lock, so a section is a consistent snapshot), splits it into sections
at the markers, and for each section aligns the new snapshot with the previous one: the new
lines are what follows the longest suffix of the previous snapshot that is a prefix of the new
one. While a buffer has not wrapped this is exact (the section only grows).

Limits (inherent to the API, stated honestly):

* Lines evicted between two polls are lost and cannot be counted; when no overlap is found
  although lines were seen before, ``gaps`` is incremented (lines may have been lost).
* After a wrap, alignment is by content: if the buffer holds periodic content (the same
  block of lines repeated), the overlap is ambiguous and the reader assumes the fewest new
  lines, so a repeated line can be missed. Make lines unique (e.g. a sequence number) when
  each one matters, and size ``livy.cache-log.size`` above what a job prints between polls.
* For sessions, the relative order of stdout vs stderr lines is unknown; within one poll the
  new stdout lines are returned before the new stderr lines.

The batch window (``GET /batches/{x}``, BatchSessionServlet.clientSessionView, same tag): the
batch object's ``log`` is the last 10 entries of that same assembled array (``lines.view(from,
from + 10)``), so for a batch it is the newest 9 stdout lines and the ``"\\nstderr: "`` marker, or
the whole log (starting with ``"stdout: "``) while it has at most 10 entries. :meth:`LivyLogTail.
from_window` takes new lines from it without a page request when that is safe, and asks for a
page (returns None) whenever lines may have been missed.
"""

from __future__ import annotations

from typing import Callable

from dagster_livy.models import LogPage

STDOUT_MARKER = "stdout: "
STDERR_MARKER = "\nstderr: "
YARN_MARKER = "\nYARN Diagnostics: "
SECTIONS = ("stdout", "stderr", "yarn")
_MARKERS = {STDERR_MARKER: "stderr", YARN_MARKER: "yarn"}

FetchPage = Callable[[int | None, int | None], LogPage]
# Lines kept for aligning the next snapshot: above any sane livy.cache-log.size.
_KEEP = 5000
# A window's new lines are trusted only when at least this many of its lines overlap lines
# already seen (a single common line such as "" would align almost anywhere).
MIN_OVERLAP = 2


def split_sections(lines: list[str]) -> dict[str, list[str]]:
    """Split a full log snapshot into its sections, dropping Livy's framing entries.

    ``"\\nstderr: "`` cannot be a real line (lines never contain a newline); ``"stdout: "`` is
    only framing as the very first entry. Without any framing everything counts as stdout.
    """
    out: dict[str, list[str]] = {name: [] for name in SECTIONS}
    current = "stdout"
    for i, line in enumerate(lines):
        if i == 0 and line == STDOUT_MARKER:
            continue
        if line in _MARKERS:
            current = _MARKERS[line]
            continue
        out[current].append(line)
    return out


def strip_framing(lines: list[str]) -> list[str]:
    """The lines of a (full or tail) log page without Livy's framing entries."""
    return [
        ln for i, ln in enumerate(lines)
        if ln not in _MARKERS and not (i == 0 and ln == STDOUT_MARKER)
    ]


def new_lines(previous: list[str], current: list[str]) -> tuple[list[str], bool]:
    """Lines of ``current`` that come after ``previous`` in a ring buffer.

    Returns ``(new, gap)``: ``gap`` is True when the snapshots do not overlap although
    ``previous`` was non-empty (lines may have been evicted unseen).
    """
    p = len(previous)
    # Fast path: the buffer has not wrapped, the section only grew.
    if current[:p] == previous:
        return current[p:], False
    if not current:
        return [], False  # log reset (e.g. the app was not started yet); nothing to yield
    if previous[: len(current)] == current:
        # Not newer than what was seen (the seen lines may have come from a newer batch window
        # than this page): nothing new, the fewest-new-lines reading.
        return [], False
    # The buffer wrapped: find the fewest evicted lines d with previous[d:] == current[:p-d].
    first = current[0]
    for d in range(1, p):
        if previous[d] == first and previous[d:] == current[: p - d]:
            return current[p - d :], False
    return list(current), p > 0


class LivyLogTail:
    """Yield each line of a Livy log once, across polls, without framing entries.

    ``fetch_page(offset, size)`` returns a :class:`LogPage`, e.g.
    ``lambda o, s: client.get_batch_log(batch_id, offset=o, size=s)``. Each poll reads the
    whole retained log (``offset=0, size=page_size``; keep the default -1 = everything).
    """

    def __init__(self, fetch_page: FetchPage, *, page_size: int = -1) -> None:
        self._fetch = fetch_page
        self._page_size = page_size
        self._seen: dict[str, list[str]] = {name: [] for name in SECTIONS}
        self.gaps = 0  # polls at which a section had no overlap with the previous poll
        self.max_total = 0  # the longest log page seen: Livy's buffer holds at least this much
        self.lines_returned = 0

    def poll(self) -> list[str]:
        """Return the lines not returned before (stdout, then stderr, then YARN diagnostics)."""
        page = self._fetch(0, self._page_size)
        self.max_total = max(self.max_total, page.total)
        sections = split_sections(page.lines)
        out: list[str] = []
        for name in SECTIONS:
            fresh, gap = new_lines(self._seen[name], sections[name])
            if gap:
                self.gaps += 1
            # An empty snapshot (log reset) keeps the old one so a later reappearance of the
            # same lines is not yielded twice.
            if sections[name] or not self._seen[name]:
                self._seen[name] = sections[name]
            out.extend(fresh)
        self.lines_returned += len(out)
        return out

    def from_window(self, window: list[str]) -> list[str] | None:
        """New stdout lines from a batch's newest-lines window, or None when a page is needed.

        Safe cases only: the window is the whole log (it begins with ``"stdout: "``) and extends
        what was seen; or it ends with the stderr marker (a batch's merged output) and exactly
        one alignment of at least :data:`MIN_OVERLAP` lines with the seen lines exists. No
        window, no overlap (more new lines than the window shows: lines were missed), several
        alignments (repeating output) or a seen stderr/YARN section all return None.
        A window equal to the seen tail returns [] (nothing new), so output that repeats its
        last lines exactly is only seen at the next page: the caller reads one now and then.
        """
        if not window or any(self._seen[s] for s in SECTIONS[1:]):
            return None
        seen = self._seen["stdout"]
        if window[0] == STDOUT_MARKER:  # the whole log: exact, as long as it extends what was seen
            sections = split_sections(window)
            if sections["stderr"] or sections["yarn"]:
                return None
            current = sections["stdout"]
            if current[: len(seen)] != seen:
                return None
            fresh = current[len(seen):]
        else:
            if window[-1] != STDERR_MARKER or STDERR_MARKER in window[:-1] or YARN_MARKER in window:
                return None
            current = window[:-1]
            n = len(current)
            fits = [k for k in range(0, n - MIN_OVERLAP + 1)
                    if n - k <= len(seen) and current[: n - k] == seen[len(seen) - (n - k):]]
            if len(fits) != 1:
                return None  # no overlap (lines missed) or repeating output (ambiguous)
            fresh = current[n - fits[0]:]
        self._seen["stdout"] = (seen + fresh)[-_KEEP:]
        self.lines_returned += len(fresh)
        return fresh

    def drain(self, *, max_polls: int = 100) -> list[str]:
        """Poll until a poll returns nothing new (or ``max_polls``); return all new lines."""
        out: list[str] = []
        for _ in range(max_polls):
            fresh = self.poll()
            if not fresh:
                break
            out.extend(fresh)
        return out
