"""Failing fast and clearly (issue 7 section 4), the parts that need no Spark.

A real `python -m http.server` plays "something that is not Livy" on the port; a closed port is a
real refused connection. Each test prints its figure.
"""

from __future__ import annotations

import subprocess
import sys
import time

import dagster as dg
import pytest

from dagster_livy import (
    BatchRunner, LivyBatchFailedError, LivyBatchLostError, LivyClient, LivyConnectionError, LivyHTTPError,
    LivyTimeoutError, NotALivyServerError, is_transient,
)
from dagster_livy.resource import retry_transient_only
from tests.conftest import free_port
from tests.unit.http_fake import FakeLivy, closed_port_url


@pytest.fixture(scope="module")
def plain_http_server(tmp_path_factory):
    """A real HTTP server that is not Livy, on a free loopback port; its request log in a file."""
    root = tmp_path_factory.mktemp("not-livy")
    log = open(root / "requests.log", "w")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(root)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with LivyClient(url, retries=0) as c:
                    c.version()
            except LivyConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
            except LivyHTTPError:
                break  # it answers (404)
        yield url, root / "requests.log"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def test_a_server_that_is_not_livy_is_named_as_such_once(plain_http_server):
    url, log = plain_http_server
    before = log.read_text().count("GET /version")
    with LivyClient(url) as client:
        with pytest.raises(NotALivyServerError) as err:
            BatchRunner(client).run({"file": "/x.py", "name": "not-livy"})
    msg = str(err.value)
    requests = log.read_text().count("GET /version") - before
    print(f"\n{len(msg)} chars, {requests} request(s): {msg[:160]}...")
    assert msg.startswith(f"{url} is not a Livy server: GET /version answered HTTP 404")
    assert "Error response" in msg  # an excerpt of what answered, so a person can recognise it
    assert len(msg) < 800 and msg.count("<!DOCTYPE") <= 1  # a short excerpt, shown once
    assert requests == 1
    assert not is_transient(err.value)


def test_a_refused_health_check_fails_at_once():
    url = closed_port_url()
    slept: list[float] = []
    with LivyClient(url, sleep=slept.append) as client:  # default retries: 4
        began = time.monotonic()
        with pytest.raises(LivyConnectionError) as err:
            BatchRunner(client).run({"file": "/x.py", "name": "closed-port"})
        took = time.monotonic() - began
    print(f"\nrefused health check reported in {took:.3f} s: {err.value}")
    assert "connection refused" in str(err.value) and url in str(err.value)
    assert "1 attempt(s)" in str(err.value) and slept == []  # no backoff, no retries


def test_the_driver_exception_comes_first():
    tail = ["stdout: ", "reading silver", "Traceback (most recent call last):",
            '  File "/jobs/x.py", line 3, in <module>', "    main()",
            "lakehouse_jobs.io.MissingSilverDataError: silver.page_views has no rows for 2025-02-10 (event_date)",
            "\nstderr: ", "26/11/28 INFO ShutdownHookManager: Shutdown hook called"]
    err = LivyBatchFailedError(state="dead", log_tail=tail, batch_id=3, batch_name="gold--x")
    first = str(err).splitlines()[0]
    print(f"\nfirst line: {first}")
    assert first == "lakehouse_jobs.io.MissingSilverDataError: silver.page_views has no rows for 2025-02-10 (event_date)"
    assert "Livy batch gold--x (id 3) ended in state dead" in str(err)
    assert str(err).index("Traceback (most recent call last):") > str(err).index("ended in state dead")


@pytest.mark.parametrize("exc, transient", [
    (LivyConnectionError("refused", request_sent=False), True),
    (LivyBatchLostError("lost twice"), True),
    (LivyHTTPError("gateway", status_code=503), True),
    (LivyHTTPError("bad request", status_code=400), False),
    (NotALivyServerError("not livy", status_code=404), False),
    (LivyTimeoutError("slow"), False),
    (LivyBatchFailedError(state="dead", log_tail=["Traceback (most recent call last):", "  x",
                                                  "ValueError: unknown gold table 'gold.x'"]), False),
    (LivyBatchFailedError(state="dead", log_tail=["Traceback (most recent call last):", "  x",
                          "lakehouse_jobs.io.CatalogBusyError: could not commit ... (SQLITE_BUSY)."]), True),
], ids=["refused", "lost-twice", "503", "400", "not-livy", "timeout", "data-error", "catalog-busy"])
def test_one_place_classifies_failures(exc, transient):
    assert is_transient(exc) is transient
    print(f"\n{type(exc).__name__}: {'transient' if transient else 'permanent'}")


def test_permanent_failures_are_not_retried_by_dagster():
    """The RetryPolicy sees a transient error and retries; a permanent one fails once."""
    attempts = {"transient": 0, "permanent": 0}

    def asset_for(kind: str, exc: Exception):
        @dg.asset(name=f"{kind}_asset", retry_policy=dg.RetryPolicy(max_retries=1, delay=0))
        def _a():
            attempts[kind] += 1
            with retry_transient_only():
                raise exc
        return _a

    for kind, exc in (("transient", LivyConnectionError("refused", request_sent=False)),
                      ("permanent", LivyHTTPError("bad request", status_code=400))):
        result = dg.materialize([asset_for(kind, exc)], raise_on_error=False,
                                instance=dg.DagsterInstance.ephemeral())
        retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        print(f"\n{kind}: {attempts[kind]} attempt(s), {len(retries)} retry event(s)")
        assert not result.success
        assert (attempts[kind], len(retries)) == ((2, 1) if kind == "transient" else (1, 0))


def test_non_json_error_body_is_shown_once_and_short():
    page = "<html><head><title>502 Bad Gateway</title></head><body>" + "x " * 3000 + "</body></html>"
    with FakeLivy() as fake:
        fake.add("GET", "/batches/1/state", 500, page)
        with LivyClient(fake.url, retries=0) as c:
            with pytest.raises(LivyHTTPError) as err:
                c.get_batch_state(1)
    msg = str(err.value)
    print(f"\n{len(msg)} chars for a {len(page)}-char error page")
    assert msg.count("502 Bad Gateway") == 1 and len(msg) < 600
