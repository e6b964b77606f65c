from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from dagster_livy.auth import make_auth
from dagster_livy.client import LivyClient
from dagster_livy.errors import (
    LivyConfigError,
    LivyConnectionError,
    LivyDuplicateNameError,
    LivyError,
    LivyHTTPError,
    LivyNotFoundError,
    LivyStatementError,
    LivyTimeoutError,
)
from dagster_livy.models import LivyState

from .http_fake import FakeLivy, closed_port_url

BATCH = {
    "id": 5,
    "name": "job-a",
    "owner": None,
    "proxyUser": None,
    "state": "starting",
    "appId": None,
    "appInfo": {"driverLogUrl": None, "sparkUiUrl": None},
    "log": ["stdout: ", "\nstderr: "],
}


class Sleeps(list):
    def __call__(self, s: float) -> None:
        self.append(s)


@pytest.fixture
def fake() -> Iterator[FakeLivy]:
    with FakeLivy() as f:
        yield f


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(fake: FakeLivy, sleeps: Sleeps) -> Iterator[LivyClient]:
    with LivyClient(fake.url, retries=3, sleep=sleeps, timeout=(2.0, 5.0)) as c:
        yield c


def test_404_maps_to_not_found_with_context(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("GET", "/batches/7", 404, {"msg": "Session '7' not found."})
    with pytest.raises(LivyNotFoundError) as ei:
        client.get_batch(7)
    e = ei.value
    assert (e.method, e.status_code, e.batch_id) == ("GET", 404, 7)
    assert e.url == f"{fake.url}/batches/7"
    assert "Session '7' not found." in e.body
    assert "Session '7' not found." in str(e) and fake.url in str(e)
    assert len(fake.calls("GET", "/batches/7")) == 1  # 404 is not retried


def test_duplicate_name_400(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("POST", "/batches", 400, {"msg": "Duplicate session name: Some(job-a) for session 9"})
    with pytest.raises(LivyDuplicateNameError) as ei:
        client.submit_batch({"file": "/x/job.py", "name": "job-a"})
    assert ei.value.status_code == 400 and ei.value.batch_name == "job-a"
    assert len(fake.calls("POST", "/batches")) == 1
    assert fake.calls("GET", "/batches/job-a") == []  # a clear 400 needs no lookup


def test_other_400_is_plain_http_error(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("POST", "/batches", 400, {"msg": "Invalid session name: 123"})
    with pytest.raises(LivyHTTPError) as ei:
        client.submit_batch({"file": "/x/job.py"})
    assert type(ei.value) is LivyHTTPError
    assert "Invalid session name: 123" in str(ei.value)


def test_500_body_in_message(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("GET", "/batches/1/state", 500, "java.lang.NullPointerException at Foo.scala:12")
    with pytest.raises(LivyHTTPError) as ei:
        client.get_batch_state(1)
    assert "NullPointerException at Foo.scala:12" in str(ei.value)
    assert ei.value.status_code == 500
    assert len(fake.calls("GET", "/batches/1/state")) == 1  # 500 is not retried


def test_503_then_200_on_get_is_retried(fake: FakeLivy, client: LivyClient, sleeps: Sleeps) -> None:
    fake.add("GET", "/batches/5", 503, "busy").add("GET", "/batches/5", 200, BATCH)
    b = client.get_batch(5)
    assert b.name == "job-a"
    assert len(fake.calls("GET", "/batches/5")) == 2
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.5


def test_get_gives_up_after_retries(fake: FakeLivy, client: LivyClient, sleeps: Sleeps) -> None:
    fake.add("GET", "/version", 502, "bad gateway", repeat=True)
    with pytest.raises(LivyHTTPError) as ei:
        client.version()
    assert ei.value.status_code == 502
    assert len(fake.calls("GET", "/version")) == 4  # 1 + retries=3
    assert len(sleeps) == 3
    # exponential caps 0.5, 1, 2 with full jitter
    assert all(0 <= s <= cap for s, cap in zip(sleeps, (0.5, 1.0, 2.0)))


def test_delete_retried_on_503_and_404_is_quiet(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("DELETE", "/batches/5", 503, "").add("DELETE", "/batches/5", 200, {"msg": "deleted"})
    client.delete_batch(5)
    assert len(fake.calls("DELETE", "/batches/5")) == 2
    fake.add("DELETE", "/batches/6", 404, {"msg": "Session '6' not found."})
    client.delete_batch(6)  # already gone: no exception
    assert len(fake.calls("DELETE", "/batches/6")) == 1


def test_post_reset_then_lookup_by_name_finds_it(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("POST", "/batches", reset=True)
    fake.add("GET", "/batches/job-a", 200, BATCH)
    b = client.submit_batch({"file": "/x/job.py", "name": "job-a"})
    assert (b.id, b.name) == (5, "job-a")
    assert len(fake.calls("POST", "/batches")) == 1
    assert len(fake.calls("GET", "/batches/job-a")) == 1


def test_post_reset_lookup_absent_resubmits_once(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("POST", "/batches", reset=True).add("POST", "/batches", 201, BATCH)
    fake.add("GET", "/batches/job-a", 404, {"msg": "Session 'job-a' not found."})
    b = client.submit_batch({"file": "/x/job.py", "name": "job-a"})
    assert b.id == 5
    assert len(fake.calls("POST", "/batches")) == 2


def test_resubmit_duplicate_means_first_post_landed(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("POST", "/batches", 504, "gateway timeout")
    fake.add("POST", "/batches", 400, {"msg": "Duplicate session name: Some(job-a) for session 6"})
    fake.add("GET", "/batches/job-a", 404, {"msg": "not found"})
    fake.add("GET", "/batches/job-a", 200, BATCH)
    b = client.submit_batch({"file": "/x/job.py", "name": "job-a"})
    assert b.id == 5
    assert len(fake.calls("POST", "/batches")) == 2


def test_post_reset_without_name_raises_and_posts_once(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("POST", "/batches", reset=True)
    with pytest.raises(LivyConnectionError) as ei:
        client.submit_batch({"file": "/x/job.py"})
    assert ei.value.request_sent is True
    assert len(fake.calls("POST", "/batches")) == 1


def test_503_on_post_without_name_raises_post_once(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("POST", "/batches", 503, "unavailable", repeat=True)
    with pytest.raises(LivyHTTPError) as ei:
        client.submit_batch({"file": "/x/job.py"})
    assert ei.value.status_code == 503
    assert len(fake.calls("POST", "/batches")) == 1


def test_lookup_checks_the_name(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("GET", "/batches/job-a", 200, dict(BATCH, name="someone-else"))
    assert client.find_batch_by_name("job-a") is None
    fake.add("GET", "/batches/job-b", 404, {"msg": "Session 'job-b' not found."})
    assert client.find_batch_by_name("job-b") is None
    with pytest.raises(LivyConfigError):
        client.find_batch_by_name("123")


def test_get_batch_expect_name_detects_reused_id(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("GET", "/batches/5", 200, dict(BATCH, name="other"))
    with pytest.raises(LivyNotFoundError, match="reused"):
        client.get_batch(5, expect_name="job-a")


def test_name_is_quoted_in_path(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("GET", "/batches/my%20job", 200, dict(BATCH, name="my job"))
    assert client.get_batch("my job").name == "my job"


def test_connection_refused_names_url(sleeps: Sleeps) -> None:
    url = closed_port_url()
    with LivyClient(url, retries=2, sleep=sleeps) as c:
        with pytest.raises(LivyConnectionError) as ei:
            c.version()
    msg = str(ei.value)
    assert url in msg and "not running" in msg
    assert ei.value.request_sent is False
    assert isinstance(ei.value.__cause__, Exception)
    assert len(sleeps) == 2  # an ordinary GET rides out a refused connection (a restarting Livy)


def test_refused_post_is_retried_because_never_sent(sleeps: Sleeps) -> None:
    with LivyClient(closed_port_url(), retries=2, sleep=sleeps) as c:
        with pytest.raises(LivyConnectionError) as ei:
            c.submit_batch({"file": "/x/job.py", "name": "job-a"})
    # Retried like a GET (the server never saw it) and no by-name lookup: nothing can exist.
    assert len(sleeps) == 2
    assert not isinstance(ei.value.__cause__, LivyError)


def test_unknown_state_value(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("GET", "/batches/5", 200, dict(BATCH, state="teleporting"))
    fake.add("GET", "/batches/5/state", 200, {"id": 5, "state": "teleporting"})
    b = client.get_batch(5)
    assert b.state is LivyState.UNKNOWN and b.raw_state == "teleporting"
    assert client.get_batch_state(5) is LivyState.UNKNOWN


def test_x_requested_by_always_sent(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("GET", "/batches/5", 200, BATCH)
    fake.add("POST", "/batches", 201, BATCH)
    fake.add("DELETE", "/batches/5", 200, {"msg": "deleted"})
    client.get_batch(5)
    client.submit_batch({"file": "/x/job.py", "name": "job-a"})
    client.delete_batch(5)
    assert len(fake.requests) == 3
    for r in fake.requests:
        assert r.headers.get("x-requested-by") == "dagster-livy", r
    post = fake.calls("POST", "/batches")[0]
    assert post.headers["content-type"] == "application/json"
    assert post.json == {"file": "/x/job.py", "name": "job-a"}


def test_basic_auth_header(fake: FakeLivy, sleeps: Sleeps) -> None:
    fake.add("GET", "/version", 200, {"version": "0.7.1-incubating"})
    with LivyClient(fake.url, auth=make_auth(username="u", password="p:w"), sleep=sleeps) as c:
        assert c.version()["version"] == "0.7.1-incubating"
    expected = "Basic " + base64.b64encode(b"u:p:w").decode()
    assert fake.requests[0].headers["authorization"] == expected


def test_bearer_auth_header_and_custom_headers(fake: FakeLivy, sleeps: Sleeps) -> None:
    fake.add("GET", "/version", 200, {"version": "x"})
    auth = make_auth(token="t0k")
    assert "t0k" not in repr(auth)
    with LivyClient(fake.url, auth=auth, headers={"X-Trace": "1"}, sleep=sleeps) as c:
        c.version()
    h = fake.requests[0].headers
    assert h["authorization"] == "Bearer t0k" and h["x-trace"] == "1"


def test_auth_choices_are_exclusive() -> None:
    with pytest.raises(LivyConfigError):
        make_auth(username="u", password="p", token="t")
    with pytest.raises(LivyConfigError):
        make_auth(token="t", kerberos=True)
    assert make_auth() is None


def test_kerberos_without_extra_explains(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "requests_gssapi", None)  # makes the import fail
    with pytest.raises(LivyConfigError, match=r"dagster-livy\[kerberos\]"):
        make_auth(kerberos=True)


def test_path_prefix_and_trailing_slashes(fake: FakeLivy, sleeps: Sleeps) -> None:
    fake.add("GET", "/gateway/default/livy/v1/batches", 200,
             {"from": 0, "total": 1, "sessions": [BATCH]})
    with LivyClient(fake.url + "/", path_prefix="/gateway/default/livy/v1/", sleep=sleeps) as c:
        batches = c.list_batches(offset=0, size=10)
    assert [b.id for b in batches] == [5]
    assert fake.requests[0].path == "/gateway/default/livy/v1/batches?from=0&size=10"


def test_get_batch_log_params_and_total(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("GET", "/batches/job-a/log", 200,
             {"id": 5, "from": 0, "total": 4, "log": ["stdout: ", "a", "b", "\nstderr: "]})
    page = client.get_batch_log("job-a", offset=0, size=-1)
    assert (page.offset, page.total, page.lines[1]) == (0, 4, "a")
    assert fake.requests[0].query == "from=0&size=-1"


def test_non_json_200_is_an_error(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("GET", "/version", 200, "<html>login</html>")
    with pytest.raises(LivyHTTPError, match="not JSON"):
        client.version()


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def _stmt(state: str, output: dict | None = None) -> dict:
    return {"id": 0, "code": "x", "state": state, "progress": 0.5, "output": output}


def test_execute_polls_until_available(fake: FakeLivy) -> None:
    clock = FakeClock()
    fake.add("POST", "/sessions/1/statements", 201, _stmt("waiting"))
    fake.add("GET", "/sessions/1/statements/0", 200, _stmt("running"))
    fake.add("GET", "/sessions/1/statements/0", 200,
             _stmt("available", {"status": "ok", "data": {"text/plain": "42"}}))
    with LivyClient(fake.url, sleep=clock.sleep, clock=clock) as c:
        st = c.execute(1, "21*2", kind="pyspark", timeout_s=60, poll_s=1)
    assert st.text == "42"
    posted = fake.calls("POST", "/sessions/1/statements")[0].json
    assert posted == {"code": "21*2", "kind": "pyspark"}
    assert len(fake.calls("GET", "/sessions/1/statements/0")) == 2


def test_execute_error_output_raises(fake: FakeLivy) -> None:
    clock = FakeClock()
    fake.add("POST", "/sessions/1/statements", 201, _stmt(
        "available", {"status": "error", "ename": "ZeroDivisionError", "evalue": "division by zero",
                      "traceback": ["line1\n"]}))
    with LivyClient(fake.url, sleep=clock.sleep, clock=clock) as c:
        with pytest.raises(LivyStatementError) as ei:
            c.execute(1, "1/0")
    assert ei.value.ename == "ZeroDivisionError"


def test_execute_timeout_cancels_first(fake: FakeLivy) -> None:
    clock = FakeClock()
    fake.add("POST", "/sessions/1/statements", 201, _stmt("running"))
    fake.add("GET", "/sessions/1/statements/0", 200, _stmt("running"), repeat=True)
    fake.add("POST", "/sessions/1/statements/0/cancel", 200, {"msg": "canceled"})
    with LivyClient(fake.url, sleep=clock.sleep, clock=clock) as c:
        with pytest.raises(LivyTimeoutError) as ei:
            c.execute(1, "while True: pass", timeout_s=3, poll_s=1)
    assert ei.value.last_state == "running" and ei.value.waited_s >= 3
    assert len(fake.calls("POST", "/sessions/1/statements/0/cancel")) == 1


def test_wait_for_session_dead_includes_log(fake: FakeLivy) -> None:
    clock = FakeClock()
    fake.add("GET", "/sessions/2", 200, {"id": 2, "state": "starting", "kind": "pyspark"})
    fake.add("GET", "/sessions/2", 200, {"id": 2, "state": "dead", "kind": "pyspark"})
    fake.add("GET", "/sessions/2/log", 200,
             {"id": 2, "from": 0, "total": 3, "log": ["stdout: ", "\nstderr: ", "OOM here"]})
    with LivyClient(fake.url, sleep=clock.sleep, clock=clock) as c:
        with pytest.raises(LivyError, match="OOM here"):
            c.wait_for_session(2, timeout_s=30, poll_s=1)


def test_wait_for_session_idle(fake: FakeLivy) -> None:
    clock = FakeClock()
    fake.add("GET", "/sessions/2", 200, {"id": 2, "state": "starting"})
    fake.add("GET", "/sessions/2", 200, {"id": 2, "state": "idle"})
    with LivyClient(fake.url, sleep=clock.sleep, clock=clock) as c:
        assert c.wait_for_session(2, timeout_s=30, poll_s=1).state is LivyState.IDLE
    assert clock.t == 1


def test_create_session_posts_body(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("POST", "/sessions", 201, {"id": 0, "kind": "pyspark", "state": "starting"})
    s = client.create_session({"kind": "pyspark"})
    assert s.id == 0 and s.kind == "pyspark"
    assert fake.requests[0].json == {"kind": "pyspark"}


def test_lookup_failure_reports_the_post_failure(fake: FakeLivy, client: LivyClient) -> None:
    fake.add("POST", "/batches", reset=True)
    fake.add("GET", "/batches/job-a", 500, "lookup broke")
    with pytest.raises(LivyConnectionError) as ei:
        client.submit_batch({"file": "/x/job.py", "name": "job-a"})
    assert ei.value.method == "POST"
    assert any("lookup" in n and "lookup broke" in n for n in ei.value.__notes__)
    assert len(fake.calls("POST", "/batches")) == 1  # no re-POST when absence is not proven
