"""The one polling policy of dagster-livy: batch waits (batches.py), session and statement waits
(sessions.py) all pace their requests with :class:`PollPolicy` and :class:`Pacer`.

Livy has no push: the only way to see a batch end is to ask. Each ask is one request, so the
cadence is a trade between how late an end is seen and how many requests a wait costs. The
interval is measured start to start (the time a request takes is not added on top), so a policy
whose ``max_s`` is 1.0 sees an end at most one interval plus one request's round trip after
Livy reports it, at 60 polls a minute.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class PollPolicy:
    """Adaptive polling: ``initial_s`` after a start or a change, growing by ``factor`` to ``max_s``.

    What counts as a change is the caller's choice: a statement's or session's state change
    resets the interval (its result often follows within a second); a batch's does not (only its
    end matters, and ``max_s`` already bounds how late that is seen). The batch default is
    :data:`BATCH_POLL`.
    """

    initial_s: float = 0.25
    max_s: float = 1.0
    factor: float = 1.5

    def __post_init__(self) -> None:
        if not (0 < self.initial_s <= self.max_s) or self.factor < 1:
            raise ValueError(f"invalid poll policy {self}: need 0 < initial_s <= max_s and factor >= 1")

    def next(self, current: float, activity: bool) -> float:
        """The interval after one of `current`: back to ``initial_s`` on activity, else longer."""
        return self.initial_s if activity else min(self.max_s, current * self.factor)


# Batches: one `GET /batches/{name}` a second, start to start. Measured in bench/ (section 2):
# the end is seen at most ~1 s after Livy reports it, at 60 polls a minute of waiting. Faster
# first polls were dropped: they cost requests and see no end sooner than a 1 s cadence bounds.
#
# Why not slower while the batch "cannot be ending" and faster near its end: no such phase can
# be told from outside. Livy 0.7.1 reports a local batch's end once spark-submit has exited and
# its output reader reached EOF (SparkProcApp, LineBufferedProcess.waitFor), and the log warns
# too late: the newest lines last change 0.02-0.1 s before the end of a plain Python driver, about
# 0.4 s after a Spark driver's stop() and Pipes closed message (bench section 2, "lead"), and a
# driver that exits silently (sys.exit, a kill) gives no warning at all. A poll interval of s
# seconds outside a "near the end" phase therefore sees such ends up to s - lead seconds late:
# any s above 1 s breaks the 1 s bound, and any s below it costs more than 60 polls a minute.
BATCH_POLL = PollPolicy(initial_s=1.0, max_s=1.0)
# Sessions and statements: a statement's answer often comes within a second, so start fast.
SESSION_POLL = PollPolicy(initial_s=0.1, max_s=1.0, factor=1.5)


class Pacer:
    """Paces polls by a :class:`PollPolicy`, start to start, with an injectable clock and sleep.

    ``wait(activity)`` sleeps until the next poll is due (the interval minus the time since the
    previous poll began) and returns the interval used; ``mark()`` notes that a poll begins now.
    """

    def __init__(self, policy: PollPolicy, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.policy = policy
        self.interval = policy.initial_s
        self._clock = clock
        self._sleep = sleep
        self._began: float | None = None
        self._first = True

    def mark(self) -> None:
        self._began = self._clock()

    def wait(self, activity: bool = False) -> float:
        if not self._first:
            self.interval = self.policy.next(self.interval, activity)
        self._first = False
        spent = 0.0 if self._began is None else max(0.0, self._clock() - self._began)
        if self.interval > spent:
            self._sleep(self.interval - spent)
        return self.interval

    def reset(self) -> None:
        """Start over at ``initial_s`` (e.g. a new statement)."""
        self.interval = self.policy.initial_s
        self._first = True
