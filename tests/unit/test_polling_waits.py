"""Session and statement waits are paced by the one PollPolicy (issue 11), on the HTTP fake with a
fake clock (interactive sessions cannot run on this project's Livy 0.7.1: no REPL jars)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dagster_livy.batches import PollPolicy as PollPolicyFromBatches
from dagster_livy.client import LivyClient
from dagster_livy.errors import LivyTimeoutError
from dagster_livy.models import LivyState
from dagster_livy.polling import SESSION_POLL, Pacer, PollPolicy

from .http_fake import FakeLivy


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(round(s, 4))
        self.t += s


@pytest.fixture
def fake() -> Iterator[FakeLivy]:
    with FakeLivy() as f:
        yield f


def _stmt(state: str, output: dict | None = None) -> dict:
    return {"id": 0, "code": "x", "state": state, "progress": 0.5, "output": output}


def test_policy_has_one_home():
    assert PollPolicyFromBatches is PollPolicy


def test_pacer_paces_start_to_start():
    clock = FakeClock()
    pacer = Pacer(PollPolicy(0.5, 2.0, 2.0), clock=clock, sleep=clock.sleep)
    pacer.mark()
    clock.t += 0.2  # the request took 0.2 s: only the rest of the interval is slept
    assert pacer.wait() == 0.5 and clock.sleeps == [0.3]
    pacer.mark()
    assert pacer.wait() == 1.0 and pacer.wait() == 2.0 and pacer.wait() == 2.0
    assert pacer.wait(activity=True) == 0.5


def test_statement_wait_is_fast_at_first_and_after_a_state_change(fake):
    clock = FakeClock()
    fake.add("POST", "/sessions/1/statements", 201, _stmt("waiting"))
    for _ in range(4):
        fake.add("GET", "/sessions/1/statements/0", 200, _stmt("waiting"))
    fake.add("GET", "/sessions/1/statements/0", 200, _stmt("running"))
    fake.add("GET", "/sessions/1/statements/0", 200, _stmt("running"))
    fake.add("GET", "/sessions/1/statements/0", 200, _stmt("available", {"status": "ok", "data": {"text/plain": "2"}}))
    with LivyClient(fake.url, sleep=clock.sleep, clock=clock) as c:
        assert c.execute(1, "1+1").text == "2"
    p = SESSION_POLL
    grow = [p.initial_s]
    for _ in range(4):
        grow.append(grow[-1] * p.factor)
    print(f"\nstatement sleeps {clock.sleeps}")
    # running seen: back to initial_s, then growing again
    assert clock.sleeps == [round(s, 4) for s in grow + [p.initial_s, p.initial_s * p.factor]]


def test_session_wait_backs_off_to_max_and_times_out(fake):
    clock = FakeClock()
    fake.add("GET", "/sessions/2", 200, {"id": 2, "state": "starting"}, repeat=True)
    with LivyClient(fake.url, sleep=clock.sleep, clock=clock) as c:
        with pytest.raises(LivyTimeoutError) as err:
            c.wait_for_session(2, timeout_s=10, poll=PollPolicy(0.5, 2.0, 2.0))
    print(f"\nsession sleeps {clock.sleeps}, gave up after {err.value.waited_s} simulated s")
    assert clock.sleeps[:4] == [0.5, 1.0, 2.0, 2.0] and set(clock.sleeps[2:]) == {2.0}
    assert err.value.last_state == "starting" and err.value.waited_s >= 10


def test_session_wait_resets_on_a_state_change(fake):
    clock = FakeClock()
    for state in ("not_started", "not_started", "not_started", "starting", "idle"):
        fake.add("GET", "/sessions/3", 200, {"id": 3, "state": state})
    with LivyClient(fake.url, sleep=clock.sleep, clock=clock) as c:
        assert c.wait_for_session(3, poll=PollPolicy(0.5, 2.0, 2.0)).state is LivyState.IDLE
    assert clock.sleeps == [0.5, 1.0, 2.0, 0.5]
