"""BatchRunner's own corners (issue 7 section 6), on the HTTP fake with a fake clock and sleep.

The real Livy cannot be made to lose a batch twice, stay unreachable for a chosen time or fail a
DELETE on demand; the fake can, and a fake clock makes grace and timeout limits instant. Each
test prints its figure (requests, simulated seconds).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from dagster_livy import (
    BatchRunner, LivyBatchFailedError, LivyBatchLostError, LivyClient, LivyConnectionError, LivyState,
    LivyTimeoutError, PollPolicy,
)
from dagster_livy.batches import LOG_SETTLE_S
from tests.unit.http_fake import FakeLivy

VERSION = {"version": "0.7.1-incubating"}
EMPTY_LOG = {"id": 0, "from": 0, "total": 2, "log": ["stdout: ", "\nstderr: "]}
NOT_FOUND = {"msg": "Session not found"}


def batch(name: str, state: str = "running", id_: int = 0) -> dict:
    return {"id": id_, "name": name, "owner": None, "proxyUser": None, "state": state, "appId": None,
            "appInfo": {"driverLogUrl": None, "sparkUiUrl": None}, "log": []}


class FakeTime:
    """clock() and sleep() for the runner: sleeping advances the clock; `on_sleep` may interrupt."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0
        self.on_sleep = None

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps += 1
        self.now += s
        if self.on_sleep is not None:
            self.on_sleep(self)


@pytest.fixture
def fake() -> Iterator[FakeLivy]:
    with FakeLivy() as f:
        f.add("GET", "/version", 200, VERSION, repeat=True)
        yield f


@pytest.fixture
def t() -> FakeTime:
    return FakeTime()


def runner(fake: FakeLivy, t: FakeTime, events: list[str] | None = None, **kwargs) -> BatchRunner:
    # retries=0: each scripted reply is one request, so the counts below are exact.
    client = LivyClient(fake.url, retries=0, sleep=t.sleep, clock=t.clock, timeout=(2.0, 5.0))
    return BatchRunner(client, poll=PollPolicy(0.25, 1.0), clock=t.clock, sleep=t.sleep,
                       on_event=(events.append if events is not None else None), **kwargs)


def submitted(fake: FakeLivy, name: str, states: list[str]) -> None:
    """Script a batch `name` that Livy does not know yet, then accepts and runs through `states`."""
    fake.add("GET", f"/batches/{name}", 404, NOT_FOUND)
    fake.add("POST", "/batches", 201, batch(name, "starting"))
    for s in states:
        fake.add("GET", f"/batches/{name}", 200, batch(name, s))
    fake.add("GET", f"/batches/{name}/log", 200, EMPTY_LOG, repeat=True)


def test_unreachable_longer_than_grace_gives_up_and_still_tries_to_delete(fake, t):
    events: list[str] = []
    submitted(fake, "job-grace", ["running"])
    # Then the connection dies on every request: Livy unreachable.
    fake.add("GET", "/batches/job-grace", reset=True, repeat=True)
    fake.add("DELETE", "/batches/job-grace", reset=True, repeat=True)
    with pytest.raises(LivyConnectionError) as err:
        runner(fake, t, events, unreachable_grace_s=5.0).run({"file": "/x.py", "name": "job-grace"})
    attempts = len(fake.calls("GET", "/batches/job-grace")) - 1  # minus the lookup
    print(f"\ngave up after {t.now:.1f} simulated s (grace 5 s), {attempts} polls")
    assert "unreachable for over 5s" in str(err.value) and err.value.batch_name == "job-grace"
    assert t.now > 5.0 and attempts >= 5  # it kept trying through the grace, then gave up
    assert len(fake.calls("DELETE", "/batches/job-grace")) == 1
    assert any("Could not delete Livy batch job-grace" in e for e in events)


def test_blip_shorter_than_grace_is_ridden_out(fake, t):
    submitted(fake, "job-blip", ["running"])
    fake.add("GET", "/batches/job-blip", reset=True)
    fake.add("GET", "/batches/job-blip", reset=True)
    fake.add("GET", "/batches/job-blip", 200, batch("job-blip", "success"))
    fake.add("DELETE", "/batches/job-blip", 200, {"msg": "deleted"})
    result = runner(fake, t, unreachable_grace_s=5.0).run({"file": "/x.py", "name": "job-blip"})
    print(f"\nrode out 2 failed polls in {t.now:.1f} simulated s")
    assert result.state is LivyState.SUCCESS and not result.resubmitted


def test_lost_twice_gives_up_after_one_resubmission(fake, t):
    events: list[str] = []
    submitted(fake, "job-lost", ["running"])
    fake.add("GET", "/batches/job-lost", 404, NOT_FOUND)  # lost: resubmit once
    fake.add("POST", "/batches", 201, batch("job-lost", "starting"))
    fake.add("GET", "/batches/job-lost", 200, batch("job-lost", "running"))
    fake.add("GET", "/batches/job-lost", 404, NOT_FOUND)  # lost again
    fake.add("DELETE", "/batches/job-lost", 404, NOT_FOUND)
    with pytest.raises(LivyBatchLostError, match="lost batch job-lost twice"):
        runner(fake, t, events).run({"file": "/x.py", "name": "job-lost"})
    posts = fake.calls("POST", "/batches")
    print(f"\n{len(posts)} submissions for one run (the original and one resubmission)")
    assert len(posts) == 2
    assert sum("resubmitting it once" in e for e in events) == 1


def test_resubmission_while_livy_comes_back_up_rides_out_the_grace(fake, t):
    """Livy restarted (the batch is unknown) and refuses the resubmission's POST for a moment:
    that is an unreachable period like any other, not an error escaping the grace."""
    submitted(fake, "job-back", ["running"])
    fake.add("GET", "/batches/job-back", 404, NOT_FOUND)  # lost: resubmit
    fake.add("POST", "/batches", reset=True)  # the server is not up yet...
    fake.add("GET", "/batches/job-back", reset=True)  # ...nor is the lookup after the ambiguous POST
    fake.add("GET", "/batches/job-back", 404, NOT_FOUND)  # up again, still unknown: resubmit
    fake.add("POST", "/batches", 201, batch("job-back", "starting", id_=1))
    fake.add("GET", "/batches/job-back", 200, batch("job-back", "success", id_=1))
    fake.add("DELETE", "/batches/job-back", 200, {"msg": "deleted"})
    result = runner(fake, t, unreachable_grace_s=5.0).run({"file": "/x.py", "name": "job-back"})
    posts = len(fake.calls("POST", "/batches"))
    print(f"\nresubmitted through a refused POST: {posts} POSTs, {t.now:.1f} simulated s")
    assert result.state is LivyState.SUCCESS and result.resubmitted and result.batch_id == 1
    assert posts == 3


def test_reattach_then_restart_resubmits_and_deletes_the_new_batch(fake, t):
    """Attempt 1 reattaches to attempt 0's batch; Livy restarts; the resubmitted batch has this
    attempt's name, and an interrupted run must delete *that* one."""
    events: list[str] = []
    fake.add("GET", "/batches/job-r1", 404, NOT_FOUND)
    fake.add("GET", "/batches/job-r0", 200, batch("job-r0", "running"))
    fake.add("GET", "/batches/job-r0/log", 200, EMPTY_LOG, repeat=True)
    fake.add("GET", "/batches/job-r0", 200, batch("job-r0", "running"))
    fake.add("GET", "/batches/job-r0", 404, NOT_FOUND)  # Livy restarted: job-r0 forgotten
    fake.add("POST", "/batches", 201, batch("job-r1", "starting"))
    fake.add("GET", "/batches/job-r1", 200, batch("job-r1", "running"), repeat=True)
    fake.add("GET", "/batches/job-r1/log", 200, EMPTY_LOG, repeat=True)
    fake.add("DELETE", "/batches/job-r1", 200, {"msg": "deleted"})

    def interrupt_once_resubmitted(ft: FakeTime) -> None:
        if len(fake.calls("GET", "/batches/job-r1")) > 1:  # looked up, then polled
            raise KeyboardInterrupt  # how Dagster terminates a step

    t.on_sleep = interrupt_once_resubmitted
    with pytest.raises(KeyboardInterrupt):
        runner(fake, t, events).run({"file": "/x.py", "name": "job-r1"}, previous_names=["job-r0"])
    deleted = [r.route for r in fake.requests if r.method == "DELETE"]
    print(f"\nreattached to job-r0, resubmitted as job-r1, deleted {deleted}")
    assert [r.json["name"] for r in fake.calls("POST", "/batches")] == ["job-r1"]
    assert deleted == ["/batches/job-r1"]
    assert any("Reattached to running Livy batch job-r0" in e for e in events)
    assert any("Deleted Livy batch job-r1" in e for e in events)


def test_reattach_then_restart_to_success_reports_the_new_name(fake, t):
    fake.add("GET", "/batches/job-r1", 404, NOT_FOUND)
    fake.add("GET", "/batches/job-r0", 200, batch("job-r0", "running"))
    fake.add("GET", "/batches/job-r0/log", 200, EMPTY_LOG, repeat=True)
    fake.add("GET", "/batches/job-r0", 404, NOT_FOUND)
    fake.add("POST", "/batches", 201, batch("job-r1", "starting"))
    fake.add("GET", "/batches/job-r1", 200, batch("job-r1", "success"))
    fake.add("GET", "/batches/job-r1/log", 200, EMPTY_LOG, repeat=True)
    fake.add("DELETE", "/batches/job-r1", 200, {"msg": "deleted"})
    result = runner(fake, t).run({"file": "/x.py", "name": "job-r1"}, previous_names=["job-r0"])
    assert result.reattached and result.resubmitted and result.name == "job-r1"
    assert [r.route for r in fake.requests if r.method == "DELETE"] == ["/batches/job-r1"]
    print(f"\nreattached to job-r0, finished as {result.name} in {len(fake.requests)} requests")


@pytest.mark.parametrize("final", ["success", "dead"])
def test_failing_delete_does_not_mask_the_outcome(fake, t, final):
    events: list[str] = []
    submitted(fake, "job-del", ["running", final])
    fake.add("DELETE", "/batches/job-del", 500, {"msg": "java.lang.IllegalStateException: boom"})
    run = lambda: runner(fake, t, events).run({"file": "/x.py", "name": "job-del"})  # noqa: E731
    if final == "success":
        assert run().state is LivyState.SUCCESS
    else:
        with pytest.raises(LivyBatchFailedError) as err:
            run()
        assert err.value.state == "dead"
    note = next(e for e in events if "Could not delete" in e)
    print(f"\noutcome {final} kept; event: {note[:120]}")
    assert "HTTP 500" in note and len(fake.calls("DELETE", "/batches/job-del")) == 1


def test_timeout_deletes_the_batch(fake, t):
    events: list[str] = []
    submitted(fake, "job-slow", [])
    fake.add("GET", "/batches/job-slow", 200, batch("job-slow", "running"), repeat=True)
    fake.add("DELETE", "/batches/job-slow", 200, {"msg": "deleted"})
    with pytest.raises(LivyTimeoutError) as err:
        runner(fake, t, events, max_wait_s=10).run({"file": "/x.py", "name": "job-slow"})
    print(f"\ntimed out after {err.value.waited_s:.1f} simulated s (limit 10 s)")
    assert err.value.last_state == "running" and err.value.batch_name == "job-slow"
    assert len(fake.calls("DELETE", "/batches/job-slow")) == 1
    assert any("Deleted Livy batch job-slow" in e for e in events)


def test_interrupted_while_reporting_the_submission_still_deletes(fake, t):
    """Dagster raises a run's termination wherever the step is, also inside the event-log write
    that reports "Submitted": the batch exists by then and must be deleted."""
    fake.add("GET", "/batches/job-int", 404, NOT_FOUND)
    fake.add("POST", "/batches", 201, batch("job-int", "starting"))
    fake.add("DELETE", "/batches/job-int", 200, {"msg": "deleted"})

    def interrupted_logging(message: str) -> None:
        if message.startswith("Submitted"):
            raise KeyboardInterrupt

    client = LivyClient(fake.url, retries=0, sleep=t.sleep, clock=t.clock)
    with pytest.raises(KeyboardInterrupt):
        BatchRunner(client, clock=t.clock, sleep=t.sleep, on_event=interrupted_logging).run(
            {"file": "/x.py", "name": "job-int"})
    assert len(fake.calls("DELETE", "/batches/job-int")) == 1
    print("\ninterrupted while reporting the submission: 1 DELETE")


def test_keep_running_on_leaves_the_batch_to_run_only_for_that_stop(fake, t):
    """`keep_running_on` (the resource's forward_termination=False): an interrupt it accepts
    leaves the batch running (no DELETE, a line says so); a timeout still deletes."""
    events: list[str] = []
    fake.add("GET", "/batches/job-keep", 404, NOT_FOUND)
    fake.add("POST", "/batches", 201, batch("job-keep", "starting"))
    fake.add("GET", "/batches/job-keep", 200, batch("job-keep", "running"), repeat=True)
    fake.add("GET", "/batches/job-keep/log", 200, EMPTY_LOG, repeat=True)
    fake.add("DELETE", "/batches/job-keep", 200, {"msg": "deleted"}, repeat=True)

    def interrupt_after_polls(ft: FakeTime) -> None:
        if len(fake.calls("GET", "/batches/job-keep")) > 2:
            raise KeyboardInterrupt

    t.on_sleep = interrupt_after_polls
    keep = lambda exc: isinstance(exc, KeyboardInterrupt)  # noqa: E731
    with pytest.raises(KeyboardInterrupt):
        runner(fake, t, events, keep_running_on=keep).run({"file": "/x.py", "name": "job-keep"})
    assert fake.calls("DELETE", "/batches/job-keep") == []
    assert any("Left Livy batch job-keep running on purpose" in e for e in events)

    t.on_sleep = None
    fake.add("GET", "/batches/job-keep2", 404, NOT_FOUND)
    fake.add("POST", "/batches", 201, batch("job-keep2", "starting"))
    fake.add("GET", "/batches/job-keep2", 200, batch("job-keep2", "running"), repeat=True)
    fake.add("GET", "/batches/job-keep2/log", 200, EMPTY_LOG, repeat=True)
    fake.add("DELETE", "/batches/job-keep2", 200, {"msg": "deleted"})
    with pytest.raises(LivyTimeoutError):
        runner(fake, t, events, max_wait_s=5, keep_running_on=keep).run({"file": "/x.py", "name": "job-keep2"})
    assert len(fake.calls("DELETE", "/batches/job-keep2")) == 1


def test_a_refused_submission_deletes_nothing(fake, t):
    """A duplicate name belongs to somebody else's batch: not ours to delete."""
    fake.add("GET", "/batches/job-dup", 404, NOT_FOUND)
    fake.add("POST", "/batches", 400, {"msg": "Duplicate session name: Some(job-dup) for session 4"})
    with pytest.raises(Exception, match="Duplicate session name"):
        runner(fake, t).run({"file": "/x.py", "name": "job-dup"})
    assert fake.calls("DELETE", "/batches/job-dup") == []
    print(f"\nrefused submission: 0 DELETEs in {len(fake.requests)} requests")


def test_one_request_per_poll_while_the_log_is_unchanged(fake, t):
    """GET /batches/{name} carries the state and the newest lines: while those give every new
    line (here the whole short log) no log page is read; every line arrives once. The one page
    is the read after the end that lets the log settle."""
    page1 = {"id": 0, "from": 0, "total": 4, "log": ["stdout: ", "a", "b", "\nstderr: "]}
    page2 = {"id": 0, "from": 0, "total": 5, "log": ["stdout: ", "a", "b", "c", "\nstderr: "]}
    fake.add("GET", "/batches/job-q", 404, NOT_FOUND)
    fake.add("POST", "/batches", 201, batch("job-q", "starting"))
    quiet = dict(batch("job-q"), log=page1["log"])
    for _ in range(40):
        fake.add("GET", "/batches/job-q", 200, quiet)
    fake.add("GET", "/batches/job-q", 200, dict(batch("job-q", "success"), log=page2["log"]))
    fake.add("GET", "/batches/job-q/log", 200, page1)  # an older page than the last window
    fake.add("GET", "/batches/job-q/log", 200, page2, repeat=True)
    fake.add("DELETE", "/batches/job-q", 200, {"msg": "deleted"})
    seen: list[str] = []
    client = LivyClient(fake.url, retries=0, sleep=t.sleep, clock=t.clock)
    result = BatchRunner(client, poll=PollPolicy(0.25, 1.0), clock=t.clock, sleep=t.sleep,
                         on_lines=seen.extend).run({"file": "/x.py", "name": "job-q"})
    polls = len(fake.calls("GET", "/batches/job-q")) - 1
    pages = len(fake.calls("GET", "/batches/job-q/log"))
    print(f"\n{polls} polls, {pages} log pages over {t.now:.1f} simulated s, {result.requests} requests")
    assert seen == ["a", "b", "c"]
    assert polls == 41 and pages == 1 and result.requests == 1 + polls + pages


@pytest.mark.parametrize("app_id", ["application_1700000000000_0001", None], ids=["yarn", "no-appid"])
def test_lines_written_after_the_end_are_still_read(fake, t, app_id):
    """A batch with an appId (YARN: the state comes from the cluster manager), or a failed one
    without (a YARN/Kubernetes submit that never got one), reported `dead` before spark-submit's
    output was all read (a local process that succeeded cannot be: see LOG_SETTLE_S): the log is
    read again after the end, until it stops growing, so the error carries the driver's exception."""
    early = {"id": 0, "from": 0, "total": 3, "log": ["stdout: ", "starting", "\nstderr: "]}
    late = {"id": 0, "from": 0, "total": 5,
            "log": ["stdout: ", "starting", "Traceback (most recent call last):", "ValueError: boom", "\nstderr: "]}
    fake.add("GET", "/batches/job-late", 404, NOT_FOUND)
    fake.add("POST", "/batches", 201, batch("job-late", "starting"))
    fake.add("GET", "/batches/job-late", 200,
             dict(batch("job-late", "dead"), log=early["log"], appId=app_id),
             repeat=True)
    fake.add("GET", "/batches/job-late/log", 200, late, repeat=True)
    fake.add("DELETE", "/batches/job-late", 200, {"msg": "deleted"})
    client = LivyClient(fake.url, retries=0, sleep=t.sleep, clock=t.clock)
    with pytest.raises(LivyBatchFailedError) as caught:
        BatchRunner(client, poll=PollPolicy(0.25, 1.0), clock=t.clock, sleep=t.sleep).run(
            {"file": "/x.py", "name": "job-late"})
    reads = len(fake.calls("GET", "/batches/job-late/log"))
    print(f"\nlog settled after {t.now:.2f} simulated s, {reads} page reads after the end")
    assert str(caught.value).startswith("ValueError: boom"), str(caught.value)
    assert t.now >= LOG_SETTLE_S  # read again after the settle time, not only at the end
