"""LivyLogTail against a simulator that assembles the log exactly as Livy 0.7.1 does.

SparkProcApp.log = ("stdout: " +: stdout_ring) ++ ("\\nstderr: " +: stderr_ring), each ring a
CircularQueue of livy.cache-log.size lines; SessionServlet.serializeLogs slices that array.
"""

from __future__ import annotations

import random
from collections import deque

import pytest

from dagster_livy.logs import LivyLogTail, new_lines, split_sections, strip_framing
from dagster_livy.models import LogPage


class LivyLogSim:
    def __init__(self, size: int = 200, *, merged: bool = False) -> None:
        self.out: deque[str] = deque(maxlen=size)
        self.err: deque[str] = deque(maxlen=size)
        self.merged = merged  # batches: redirectErrorStream(true)
        self.requests: list[tuple[int | None, int | None]] = []

    def stdout(self, *lines: str) -> None:
        self.out.extend(lines)

    def stderr(self, *lines: str) -> None:
        (self.out if self.merged else self.err).extend(lines)

    def assembled(self) -> list[str]:
        return ["stdout: ", *self.out, "\nstderr: ", *self.err]

    def fetch(self, from_: int | None, size: int | None) -> LogPage:
        """SessionServlet.serializeLogs, line for line."""
        self.requests.append((from_, size))
        lines = self.assembled()
        size_ = 100 if size is None else size
        frm = -1 if from_ is None else from_
        if size_ < 0:
            size_ = len(lines)
        if frm < 0:
            frm = max(0, len(lines) - size_)
        return LogPage(id=0, offset=frm, total=len(lines), lines=lines[frm : frm + size_])


def test_framing_stripped() -> None:
    sim = LivyLogSim()
    sim.stdout("a", "b")
    tail = LivyLogTail(sim.fetch)
    assert tail.poll() == ["a", "b"]
    assert tail.poll() == []
    assert sim.requests[0] == (0, -1)  # whole retained log in one consistent request


def test_split_sections_and_real_lines_resembling_markers() -> None:
    lines = ["stdout: ", "x", "stdout: ", "stderr: ", "\nstderr: ", "e1",
             "\nYARN Diagnostics: ", "d"]
    assert split_sections(lines) == {
        "stdout": ["x", "stdout: ", "stderr: "],
        "stderr": ["e1"],
        "yarn": ["d"],
    }
    assert split_sections(["no framing"]) == {"stdout": ["no framing"], "stderr": [], "yarn": []}
    assert strip_framing(["stdout: ", "a", "\nstderr: "]) == ["a"]


def test_incremental_without_duplicates() -> None:
    sim = LivyLogSim(merged=True)
    tail = LivyLogTail(sim.fetch)
    got: list[list[str]] = []
    for i in range(5):
        sim.stdout(*(f"l{i}-{j}" for j in range(i + 1)))
        got.append(tail.poll())
    assert got[0] == ["l0-0"]
    assert got[4] == [f"l4-{j}" for j in range(5)]
    flat = [x for g in got for x in g]
    assert len(flat) == len(set(flat)) == 15
    assert tail.lines_returned == 15 and tail.gaps == 0


def test_ring_buffer_wrap_without_loss() -> None:
    sim = LivyLogSim(size=5, merged=True)
    tail = LivyLogTail(sim.fetch)
    sim.stdout("a", "b", "c")
    assert tail.poll() == ["a", "b", "c"]
    sim.stdout("d", "e", "f", "g")  # evicts a, b; total stays capped at 5 + 2
    page = sim.fetch(0, -1)
    assert page.total == 7
    assert tail.poll() == ["d", "e", "f", "g"]
    sim.stdout("h")
    assert tail.poll() == ["h"]
    assert tail.poll() == []
    assert tail.gaps == 0


def test_ring_buffer_overrun_counts_gap_without_duplicates() -> None:
    sim = LivyLogSim(size=4, merged=True)
    tail = LivyLogTail(sim.fetch)
    sim.stdout("a", "b")
    assert tail.poll() == ["a", "b"]
    sim.stdout(*(f"n{i}" for i in range(10)))  # n0..n5 are evicted before the next poll
    assert tail.poll() == ["n6", "n7", "n8", "n9"]
    assert tail.gaps == 1
    assert tail.poll() == []
    assert tail.gaps == 1


def test_stdout_and_stderr_interleaved_session_log() -> None:
    # Interactive sessions keep two buffers: stderr indices shift whenever stdout grows.
    sim = LivyLogSim(size=50)
    tail = LivyLogTail(sim.fetch)
    sim.stdout("o1")
    sim.stderr("e1")
    assert tail.poll() == ["o1", "e1"]
    sim.stderr("e2")
    sim.stdout("o2", "o3")  # pushes e1/e2 to higher offsets
    assert tail.poll() == ["o2", "o3", "e2"]
    sim.stdout("o4")
    assert tail.poll() == ["o4"]
    sim.stderr("e3")
    assert tail.poll() == ["e3"]


def test_merged_batch_log_keeps_true_order() -> None:
    sim = LivyLogSim(size=50, merged=True)
    tail = LivyLogTail(sim.fetch)
    sim.stdout("o1")
    sim.stderr("e1")
    sim.stdout("o2")
    assert tail.poll() == ["o1", "e1", "o2"]
    assert sim.assembled()[-1] == "\nstderr: "


@pytest.mark.parametrize("seed", range(20))
def test_random_appends_each_line_exactly_once(seed: int) -> None:
    rng = random.Random(seed)
    size = 7
    sim = LivyLogSim(size=size)
    tail = LivyLogTail(sim.fetch)
    truth = {"out": [], "err": []}
    seen: list[str] = []
    counter = 0
    for _ in range(60):
        # At most size-1 lines per buffer between polls, so nothing is evicted unseen.
        n_out, n_err = rng.randint(0, size - 1), rng.randint(0, size - 1)
        for _ in range(n_out):
            counter += 1
            sim.stdout(f"o{counter}")
            truth["out"].append(f"o{counter}")
        for _ in range(n_err):
            counter += 1
            sim.stderr(f"e{counter}")
            truth["err"].append(f"e{counter}")
        seen.extend(tail.poll())
    assert [x for x in seen if x[0] == "o"] == truth["out"]
    assert [x for x in seen if x[0] == "e"] == truth["err"]
    assert tail.gaps == 0


def test_drain_until_quiet() -> None:
    sim = LivyLogSim(merged=True)
    tail = LivyLogTail(sim.fetch)
    sim.stdout("a")
    assert tail.drain() == ["a"]
    assert tail.drain() == []


def test_new_lines_helper() -> None:
    assert new_lines([], ["a"]) == (["a"], False)
    assert new_lines(["a", "b", "c"], ["b", "c", "d"]) == (["d"], False)
    assert new_lines(["a", "b"], ["x", "y"]) == (["x", "y"], True)
    assert new_lines(["a"], []) == ([], False)


def test_empty_snapshot_does_not_cause_replay() -> None:
    pages = [["stdout: ", "a", "\nstderr: "], [], ["stdout: ", "a", "\nstderr: "]]
    it = iter(pages)
    tail = LivyLogTail(lambda o, s: LogPage(0, 0, 0, next(it)))
    assert tail.poll() == ["a"]
    assert tail.poll() == []
    assert tail.poll() == []


# -- the batch window: GET /batches/{x} carries the last 10 entries of the assembled log -------

def window(sim: LivyLogSim) -> list[str]:
    """BatchSessionServlet.clientSessionView: lines.view(max(0, len - 10), ... + 10)."""
    lines = sim.assembled()
    return lines[max(0, len(lines) - 10):]


def test_window_gives_new_lines_without_a_page() -> None:
    sim = LivyLogSim(merged=True)
    tail = LivyLogTail(sim.fetch)
    sim.stdout("a", "b")
    assert tail.from_window(window(sim)) == ["a", "b"]  # the whole log: exact
    assert tail.from_window(window(sim)) == []
    sim.stdout(*(f"l{i}" for i in range(12)))
    assert tail.from_window(window(sim)) is None  # 12 new lines, the window shows 9: page
    assert tail.poll() == [f"l{i}" for i in range(12)]
    sim.stdout("m1", "m2", "m3")
    assert tail.from_window(window(sim)) == ["m1", "m2", "m3"]  # overlap with the page's lines
    assert tail.poll() == []  # the page agrees: nothing twice
    assert sim.requests == [(0, -1), (0, -1)]


def test_window_refuses_repeating_output_and_no_view_access() -> None:
    sim = LivyLogSim(merged=True)
    tail = LivyLogTail(sim.fetch)
    sim.stdout(*(["tick"] * 12))
    assert tail.poll() == ["tick"] * 12
    sim.stdout("tick", "tick")
    assert tail.from_window(window(sim)) is None  # which ticks are new? ambiguous: page
    assert tail.poll() == ["tick", "tick"]
    assert tail.from_window([]) is None  # no view access: Livy sends no lines


@pytest.mark.parametrize("seed", range(20))
def test_window_or_page_each_line_exactly_once(seed: int) -> None:
    """The runner's way: the window when it suffices, else the page; no line lost or repeated."""
    rng = random.Random(seed)
    sim = LivyLogSim(size=200, merged=True)
    tail = LivyLogTail(sim.fetch)
    truth: list[str] = []
    seen: list[str] = []
    for step in range(80):
        for _ in range(rng.choice([0, 0, 1, 2, 5, 8, 9, 15, 40])):
            line = f"s{step}-{len(truth)}" if rng.random() < 0.8 else rng.choice(["", "WARN x", "tick"])
            sim.stdout(line)
            truth.append(line)
        fresh = tail.from_window(window(sim))
        seen.extend(tail.poll() if fresh is None else fresh)
    seen.extend(tail.drain())
    assert seen == truth
    pages = len(sim.requests)
    print(f"\nseed {seed}: {pages} pages for 80 polls")
