"""BatchRunner's cadence and log reads against a simulated Livy batch on a fake clock (issue 9).

The HTTP fake answers as Livy 0.7.1 does (BatchSessionServlet: the batch object carries the last
10 entries of the framed log; SessionServlet.serializeLogs: the page; a ring buffer of
`buffer` lines), while the simulated job prints lines as the fake clock advances. Requests are
counted exactly; the speed figures on the real server live in bench/ (section 2).
"""

from __future__ import annotations

from collections import deque
from typing import Iterator

import pytest

from dagster_livy import BatchRunner, LivyClient, LivyState
from dagster_livy.batches import PAGE_DEFER_S
from tests.unit.http_fake import FakeLivy, Received, Reply

from .test_runner_corners import NOT_FOUND, VERSION, FakeTime, batch


class SimulatedBatch:
    """A batch named `name` printing `per_s` numbered lines a second until `ends_at` (fake s)."""

    def __init__(self, t: FakeTime, name: str, *, ends_at: float, per_s: float, buffer: int = 200,
                 first: tuple[str, ...] = ("job starts",), last: tuple[str, ...] = ("job done",),
                 prints_from: float = 0.0) -> None:
        self.t, self.name, self.ends_at, self.per_s = t, name, ends_at, per_s
        self.prints_from = prints_from
        self.ring: deque[str] = deque(maxlen=buffer)
        self.printed: list[str] = []
        self.first, self.last = first, last
        self._advance()

    def _advance(self) -> None:
        now = min(self.t.now, self.ends_at)
        if not self.printed:
            self._print(*self.first)
        due = int(max(0.0, now - self.prints_from) * self.per_s)
        numbered = len(self.printed) - len(self.first)
        self._print(*(f"line {i:06d}" for i in range(numbered, due)))
        if self.t.now >= self.ends_at and self.printed[-1] != self.last[-1]:
            self._print(*self.last)

    def _print(self, *lines: str) -> None:
        self.ring.extend(lines)
        self.printed.extend(lines)

    def log(self) -> list[str]:
        return ["stdout: ", *self.ring, "\nstderr: "]

    # Set by tests: the terminal answer's window lacks the last line (BatchSessionServlet reads
    # the log before the state), and a page read takes this long (fake s).
    window_lags_at_end = False
    page_takes_s = 0.0
    ended_at: float | None = None  # fake time of the first terminal answer
    pages_after_end = 0

    def get_batch(self, _: Received) -> Reply:
        self._advance()
        state = "success" if self.t.now >= self.ends_at else "running"
        log = self.log()
        if state == "success":
            if self.ended_at is None:
                self.ended_at = self.t.now
            if self.window_lags_at_end:
                log = [*log[:-2], log[-1]]
        return Reply(200, dict(batch(self.name, state), log=log[-10:]))

    def get_log(self, _: Received) -> Reply:
        self._advance()
        lines = self.log()
        self.pages_after_end += self.ended_at is not None
        self.t.now += self.page_takes_s
        return Reply(200, {"id": 0, "from": 0, "total": len(lines), "log": lines})


@pytest.fixture
def fake() -> Iterator[FakeLivy]:
    with FakeLivy() as f:
        f.add("GET", "/version", 200, VERSION, repeat=True)
        yield f


def run_simulated(fake: FakeLivy, t: FakeTime, sim: SimulatedBatch, **kwargs):
    fake.add("GET", f"/batches/{sim.name}", 404, NOT_FOUND)  # the lookup before submitting
    fake.add("POST", "/batches", 201, batch(sim.name, "starting"))
    fake.answer("GET", f"/batches/{sim.name}", sim.get_batch)
    fake.answer("GET", f"/batches/{sim.name}/log", sim.get_log)
    fake.add("DELETE", f"/batches/{sim.name}", 200, {"msg": "deleted"})
    seen: list[str] = []
    events: list[str] = []
    client = LivyClient(fake.url, retries=0, sleep=t.sleep, clock=t.clock)
    result = BatchRunner(client, clock=t.clock, sleep=t.sleep, on_lines=seen.extend,
                         on_event=events.append, **kwargs).run({"file": "/x.py", "name": sim.name})
    polls = len(fake.calls("GET", f"/batches/{sim.name}")) - 1
    pages = len(fake.calls("GET", f"/batches/{sim.name}/log"))
    return result, seen, events, polls, pages


def test_quiet_batch_one_request_a_second_no_pages(fake):
    t = FakeTime()
    sim = SimulatedBatch(t, "quiet", ends_at=65.0, per_s=0)
    result, seen, events, polls, pages = run_simulated(fake, t, sim)
    print(f"\nquiet 65 s batch: {polls} polls, {pages} pages, {result.requests} requests, "
          f"end seen {result.end_detected_s} s after the last running poll")
    assert seen == ["job starts", "job done"]
    assert result.state is LivyState.SUCCESS
    assert polls == 65 and pages == 1  # one poll a simulated second; the one read after the end
    assert result.requests == 1 + polls + pages
    assert result.end_detected_s == 1.0


def test_still_running_line_every_30_s_without_a_request_of_its_own(fake):
    t = FakeTime()
    sim = SimulatedBatch(t, "progress", ends_at=65.0, per_s=0)
    result, _, events, polls, pages = run_simulated(fake, t, sim)
    still = [e for e in events if e.startswith("Livy batch still")]
    print(f"\nevents: {events}")
    # 30 s after the last state change (starting -> running at the first poll), then every 30 s
    assert still == ["Livy batch still running (31s elapsed)", "Livy batch still running (1m01s elapsed)"]
    assert "Livy batch starting -> running (1s elapsed)" in events
    assert not any("progress" in e for e in still), "the batch name stays out of progress lines"
    assert result.requests == 1 + polls + pages


@pytest.mark.parametrize("per_s, max_pages", [
    (5, 1),  # the window (9 lines) shows all a poll's lines: only the read after the end
    # a page once 100 lines (half of Livy's default buffer) could have been printed by the next
    # poll, here every 4 s, at most every PAGE_DEFER_S; plus the first page and the end's read
    (20, 60 / min(PAGE_DEFER_S, 4) + 3),
    (60, 61),  # half of Livy's 200-line buffer within two polls: a page every poll, none lost
])
def test_chatty_batch_every_line_once_with_pages_deferred(fake, per_s, max_pages):
    t = FakeTime()
    sim = SimulatedBatch(t, f"chatty-{per_s}", ends_at=60.0, per_s=per_s)
    result, seen, _, polls, pages = run_simulated(fake, t, sim)
    print(f"\n{per_s} lines/s for 60 s: {polls} polls, {pages} pages, {result.requests} requests, "
          f"{result.log_gaps} gaps")
    assert seen == sim.printed and result.log_gaps == 0
    assert polls == 60 and pages <= max_pages


def test_a_longer_page_deferral_reads_fewer_pages_and_loses_nothing(fake):
    """page_defer_s=15 on a 20 lines/s batch whose Livy keeps 5000 lines: a page about every
    15 s instead of every 5 s, every line once."""
    t = FakeTime()
    sim = SimulatedBatch(t, "defer-15", ends_at=90.0, per_s=20, buffer=5000)
    result, seen, _, polls, pages = run_simulated(fake, t, sim, page_defer_s=15.0)
    t5 = FakeTime()
    sim5 = SimulatedBatch(t5, "defer-5", ends_at=90.0, per_s=20, buffer=5000)
    _, seen5, _, _, pages5 = run_simulated(fake, t5, sim5)
    print(f"\n20 lines/s for 90 s: {pages} pages deferred up to 15 s, {pages5} up to {PAGE_DEFER_S:g} s")
    assert seen == sim.printed and seen5 == sim5.printed and result.log_gaps == 0
    assert pages <= 90 / 15 + 5 < pages5  # the first 10 s: Livy's default 200 lines assumed


@pytest.mark.parametrize("per_s", [0, 20])
def test_the_end_costs_one_page_read_at_once(fake, per_s):
    """A local-process batch (no appId) is reported ended only after its whole output was read
    by Livy: one page read right after the terminal answer gives every line left, also the last
    one the terminal answer's window lacks, with no wait for the log to settle."""
    t = FakeTime()
    sim = SimulatedBatch(t, f"end-{per_s}", ends_at=30.5, per_s=per_s)
    sim.window_lags_at_end = True
    result, seen, _, polls, pages = run_simulated(fake, t, sim)
    print(f"\n{per_s} lines/s: {polls} polls, {pages} pages ({sim.pages_after_end} after the end), "
          f"returned {t.now - sim.ended_at:.2f} s after the terminal answer")
    assert seen == sim.printed and seen[-1] == "job done" and result.log_gaps == 0
    assert sim.pages_after_end == 1
    assert t.now == sim.ended_at  # no settle wait
    assert result.requests == 1 + polls + pages


def test_end_detected_counts_only_the_polls_not_the_reads_after_them(fake):
    """end_detected_s runs from answer to answer: slow page reads (here 0.4 fake s each) after
    the previous poll or after the terminal one are not part of how late the end was seen."""
    t = FakeTime()
    sim = SimulatedBatch(t, "slow-pages", ends_at=20.5, per_s=20)
    sim.page_takes_s = 0.4
    result, seen, _, polls, pages = run_simulated(fake, t, sim)
    print(f"\n{polls} polls, {pages} pages, end seen {result.end_detected_s} s after the last running poll")
    assert seen == sim.printed and pages >= 3
    assert result.end_detected_s == pytest.approx(1.0)


def test_a_buffer_smaller_than_assumed_loses_lines_once_then_pages_every_poll(fake):
    """livy.cache-log.size below the assumed 200: the first deferred page finds a gap (counted on
    the result) and from then on every poll that needs a page reads it at once."""
    t = FakeTime()
    sim = SimulatedBatch(t, "small-buffer", ends_at=40.0, per_s=12, buffer=30)
    result, seen, _, polls, pages = run_simulated(fake, t, sim)
    print(f"\nbuffer 30, 12 lines/s: {polls} polls, {pages} pages, gaps {result.log_gaps}, "
          f"{len(seen)} of {len(sim.printed)} lines")
    assert result.log_gaps >= 1
    assert len(seen) == len(set(seen)), "a line was delivered twice"
    assert seen[-100:] == sim.printed[-100:]  # after the gap: nothing lost


@pytest.mark.parametrize("before, after", [(0, 80), (20, 40), (20, 80)])
def test_a_burst_after_a_slower_stretch(fake, before, after):
    """`before` lines/s for 10 s (0: silence), then `after` lines/s, Livy's default 200-line
    buffer. After silence the rate is measured afresh, so nothing is lost; within a chatty
    stretch the deferral keeps a 2x margin: a 2x faster burst loses nothing, a 4x one may lose
    lines once, counted as a gap (never duplicated), after which every page is read at once."""
    t = FakeTime()
    sim = SimulatedBatch(t, f"burst-{before}-{after}", ends_at=50.0, per_s=before)
    result, seen, _, polls, pages = run_simulated(fake, t, _BurstAfter(sim, at=10.0, per_s=after))
    print(f"\n{before} then {after} lines/s: {polls} polls, {pages} pages, gaps {result.log_gaps}, "
          f"{len(seen)} of {len(sim.printed)} lines")
    assert len(seen) == len(set(seen)), "a line was delivered twice"
    if after <= 2 * before or before == 0:
        assert seen == sim.printed and result.log_gaps == 0
    else:
        assert result.log_gaps >= 1 and seen[-200:] == sim.printed[-200:]


class _BurstAfter:
    """`sim`, whose printing rate switches to `per_s` at `at` (fake s)."""

    def __init__(self, sim: SimulatedBatch, *, at: float, per_s: float) -> None:
        self.sim, self.at, self.fast = sim, at, per_s
        self.name = sim.name

    def _switch(self) -> None:
        sim = self.sim
        if sim.t.now >= self.at and sim.per_s != self.fast:
            sim.t.now, now = self.at, sim.t.now  # print at the old rate up to the switch
            sim._advance()
            sim.t.now = now
            numbered = len(sim.printed) - len(sim.first)
            sim.per_s, sim.prints_from = self.fast, self.at - numbered / self.fast

    def get_batch(self, rec: Received) -> Reply:
        self._switch()
        return self.sim.get_batch(rec)

    def get_log(self, rec: Received) -> Reply:
        self._switch()
        return self.sim.get_log(rec)
