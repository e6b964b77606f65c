from __future__ import annotations

import pytest

from dagster_livy.errors import (
    LivyBatchFailedError,
    LivyError,
    LivyHTTPError,
    LivyStatementError,
    extract_python_traceback,
)
from dagster_livy.models import (
    BATCH_TERMINAL_STATES,
    SESSION_TERMINAL_STATES,
    Batch,
    LivyState,
    LogPage,
    Session,
    Statement,
    StatementState,
)


def test_state_known_values_and_recovering() -> None:
    assert LivyState("recovering") is LivyState.RECOVERING
    assert LivyState("shutting_down") is LivyState.SHUTTING_DOWN
    assert not LivyState.RECOVERING.is_terminal
    assert LivyState("success").is_terminal and not LivyState.SUCCESS.is_failure


def test_state_unknown_value() -> None:
    assert LivyState("exploded") is LivyState.UNKNOWN
    assert not LivyState.UNKNOWN.is_terminal


@pytest.mark.parametrize("state", ["dead", "killed", "error"])
def test_failure_states_are_terminal_for_batches(state: str) -> None:
    s = LivyState(state)
    assert s.is_terminal and s.is_failure


def test_terminal_sets() -> None:
    assert {s.value for s in BATCH_TERMINAL_STATES} == {"success", "dead", "killed", "error"}
    assert {s.value for s in SESSION_TERMINAL_STATES} == {"error", "dead", "killed", "success"}
    for s in ("not_started", "starting", "idle", "running", "busy", "shutting_down"):
        assert not LivyState(s).is_terminal


def test_statement_state() -> None:
    assert StatementState("available").is_terminal
    assert StatementState("cancelled").is_terminal
    assert not StatementState("cancelling").is_terminal
    assert StatementState("error") is StatementState.UNKNOWN  # there is no error state


def test_batch_from_json_full() -> None:
    b = Batch.from_json(
        {
            "id": 3,
            "name": "job-a",
            "owner": "me",
            "proxyUser": "alice",
            "state": "running",
            "appId": "app-1",
            "appInfo": {"driverLogUrl": "http://d", "sparkUiUrl": "http://ui"},
            "log": ["stdout: ", "hi", "\nstderr: "],
            "futureField": 1,
        }
    )
    assert (b.id, b.name, b.state, b.raw_state) == (3, "job-a", LivyState.RUNNING, "running")
    assert (b.app_id, b.owner, b.proxy_user) == ("app-1", "me", "alice")
    assert b.spark_ui_url == "http://ui" and b.driver_log_url == "http://d"
    assert b.log == ["stdout: ", "hi", "\nstderr: "]


def test_batch_from_json_minimal_and_unknown_state() -> None:
    b = Batch.from_json({"id": 0, "state": "quantum", "appInfo": None, "log": None})
    assert b.state is LivyState.UNKNOWN and b.raw_state == "quantum"
    assert b.name is None and b.app_info == {} and b.log == [] and b.spark_ui_url is None
    assert Batch.from_json({"id": 1}).raw_state == "unknown"


def test_missing_id_is_a_livy_error() -> None:
    with pytest.raises(LivyError, match="no id"):
        Batch.from_json({"state": "running"})


def test_batch_is_frozen() -> None:
    b = Batch.from_json({"id": 1})
    with pytest.raises(AttributeError):
        b.id = 2  # type: ignore[misc]


def test_session_from_json() -> None:
    s = Session.from_json({"id": 2, "kind": "pyspark", "state": "idle", "name": "nb"})
    assert (s.id, s.kind, s.state, s.name) == (2, "pyspark", LivyState.IDLE, "nb")


def test_statement_helpers() -> None:
    ok = Statement.from_json(
        {
            "id": 0,
            "code": "1+1",
            "state": "available",
            "progress": 1,
            "output": {"status": "ok", "execution_count": 0, "data": {"text/plain": "2"}},
        }
    )
    assert ok.ok and ok.text == "2" and ok.progress == 1.0
    ok.raise_for_error()
    err = Statement.from_json(
        {
            "id": 1,
            "state": "available",
            "output": {
                "status": "error",
                "ename": "NameError",
                "evalue": "name 'x' is not defined",
                "traceback": ["Traceback...\n", "NameError: x\n"],
            },
        }
    )
    assert not err.ok and err.text is None
    with pytest.raises(LivyStatementError) as ei:
        err.raise_for_error()
    assert ei.value.ename == "NameError"
    assert ei.value.evalue == "name 'x' is not defined"
    assert ei.value.traceback == ["Traceback...\n", "NameError: x\n"]
    running = Statement.from_json({"id": 2, "state": "running", "output": None})
    assert not running.ok and running.output is None and running.progress is None


def test_log_page_reads_total_and_falls_back_to_size() -> None:
    p = LogPage.from_json({"id": 4, "from": 10, "total": 250, "log": ["a", "b"]})
    assert (p.id, p.offset, p.total, p.lines) == (4, 10, 250, ["a", "b"])
    old = LogPage.from_json({"id": 4, "from": 0, "size": 7, "log": ["a"]})
    assert old.total == 7
    bare = LogPage.from_json({"log": ["a", "b", "c"]})
    assert (bare.id, bare.offset, bare.total) == (None, 0, 3)


TRACEBACK_LOG = [
    "24/01/01 WARN Something",
    "Traceback (most recent call last):",
    '  File "/x/old.py", line 1, in <module>',
    "KeyError: 'old'",
    "some other line",
    "Traceback (most recent call last):",
    '  File "/x/job.py", line 3, in <module>',
    "    raise ValueError('boom')",
    "ValueError: boom",
    "24/01/01 INFO ShutdownHookManager: Shutdown hook called",
]


def test_extract_python_traceback_takes_the_last() -> None:
    assert extract_python_traceback(TRACEBACK_LOG) == "\n".join(TRACEBACK_LOG[5:9])
    assert extract_python_traceback(["no", "traceback"]) is None


def test_batch_failed_error_message() -> None:
    e = LivyBatchFailedError(state="dead", log_tail=TRACEBACK_LOG, batch_id=7, batch_name="job-a")
    text = str(e)
    assert "Livy batch job-a (id 7) ended in state dead" in text
    assert "ValueError: boom" in text and "KeyError" not in text
    assert e.traceback and e.traceback.endswith("ValueError: boom")
    assert isinstance(e, LivyError) and e.state == "dead" and e.batch_id == 7

    lines = [f"line {i}" for i in range(30)]
    e2 = LivyBatchFailedError(state="killed", log_tail=lines, batch_id=1, batch_name="b")
    assert e2.traceback is None
    assert "line 29" in str(e2) and "line 10" in str(e2) and "line 9\n" not in str(e2)


def test_error_str_includes_context() -> None:
    e = LivyHTTPError(
        "bad", method="GET", url="http://h/batches/1", status_code=500, body="oops", batch_id=1
    )
    s = str(e)
    for part in ("bad", "method=GET", "url=http://h/batches/1", "status_code=500", "body=oops",
                 "batch_id=1"):
        assert part in s
    assert "batch_name" not in s


def test_errors_survive_pickling() -> None:
    import pickle

    e = LivyBatchFailedError(state="dead", log_tail=TRACEBACK_LOG, batch_id=7, batch_name="job-a")
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is LivyBatchFailedError and str(e2) == str(e)
    assert (e2.state, e2.batch_id, e2.traceback) == ("dead", 7, e.traceback)
    h = pickle.loads(pickle.dumps(LivyHTTPError("x", status_code=503, url="http://h")))
    assert h.status_code == 503 and "url=http://h" in str(h)
