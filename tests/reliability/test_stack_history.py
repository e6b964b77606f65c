"""Links that still work afterwards (issue 12, "what must show"): a gold run through Dagster on the
real stack, then the stack stopped (Livy and the Spark History Server): each materialization's
stored driver log is readable; the stack started again: each materialization's Spark history link
opens that application's jobs page.

One gold job (customer analytics, the reliability suite's two silver dates as one batch) instead
of `make demo`: the same path (Dagster -> Pipes -> Livy batch -> event log) at a fraction of the
time. The session's Livy is stopped and started again, as test_runner_lifecycle does.
"""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest
import requests

from dagster_livy.lakehouse.definitions import defs
from dagster_livy.lakehouse.settings import build_resources

from tests.conftest import free_port, run_livyctl

from .conftest import SILVER_END, SILVER_START

pytestmark = pytest.mark.integration


def answers(url: str) -> bool:
    try:
        requests.get(url, timeout=2)
        return True
    except requests.ConnectionError:
        return False


def open_when_listed(url: str, app_id: str, wait_s: float = 240.0) -> requests.Response:
    """GET the page, waiting (bounded) for the History Server's first scan of the event logs;
    the first request of an application replays its event log, slow on a loaded machine."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            resp = requests.get(url, timeout=60)
        except (requests.Timeout, requests.ConnectionError):
            if time.monotonic() > deadline:
                raise
            continue
        if (resp.status_code == 200 and app_id in resp.text) or time.monotonic() > deadline:
            return resp
        time.sleep(1)


def test_driver_log_and_history_link_outlive_the_stack(livy_stack, reliability_lakehouse, tmp_path, monkeypatch):
    if not livy_stack.started_here:
        pytest.skip("needs the stack this session started (it is stopped and started again)")
    port = free_port()
    ctl = {**livy_stack.ctl_env, "SPARK_HISTORY_PORT": str(port)}
    monkeypatch.setenv("SPARK_HISTORY_PORT", str(port))  # dagster_livy.env.history_url: the links
    monkeypatch.delenv("SPARK_HISTORY_URL", raising=False)
    history = f"http://127.0.0.1:{port}"
    run_livyctl(ctl, "history", "up")
    try:
        instance = dg.DagsterInstance.ephemeral(tempdir=str(tmp_path / "dagster"))
        result = defs.resolve_job_def("customer_analytics_processing").execute_in_process(
            tags={"dagster/asset_partition_range_start": SILVER_START,
                  "dagster/asset_partition_range_end": SILVER_END},
            resources=build_resources(), instance=instance, raise_on_error=False)
        assert result.success, [str(e.step_failure_data.error) for e in result.all_events
                                if e.event_type_value == "STEP_FAILURE"]
        mats = [e.event_specific_data.materialization for e in result.all_events
                if e.event_type_value == "ASSET_MATERIALIZATION"]
        assert mats, "no materialization"
        links = []
        for m in mats:
            md = {k: v.value for k, v in m.metadata.items()}
            app_id = md["spark_application_id"]
            assert md["spark_history_url"] == f"{history}/history/{app_id}/jobs/", md
            log_path = Path(md["driver_log"])
            assert log_path.is_relative_to(tmp_path / "dagster"), "not under the instance's storage"
            links.append((app_id, md["spark_history_url"], log_path))
        step_log = " ".join(e.user_message for e in instance.all_logs(result.run_id))
        assert f"full driver log kept at {links[0][2]}" in step_log

        # The stack goes away: Livy (its batches were deleted already) and the History Server.
        run_livyctl(ctl, "down")
        assert not answers(livy_stack.url + "/version") and not answers(history), "stack still answers"
        for app_id, _, log_path in links:
            text = log_path.read_text()
            # The driver's own output: its Pipes report (naming its application) and summary line.
            assert app_id in text and "GOLD gold.daily_customer_analytics" in text, text[-2000:]

        # ...and comes back (`make up`): every link opens its application's jobs page.
        run_livyctl(ctl, "up", "--wait", "120")
        run_livyctl(ctl, "history", "up")
        for app_id, url, _ in links:
            resp = open_when_listed(url, app_id)
            assert resp.status_code == 200 and app_id in resp.text, (url, resp.status_code, resp.text[:500])
            assert "Spark Jobs" in resp.text
    finally:
        run_livyctl(ctl, "history", "down", check=False)
        if not answers(livy_stack.url + "/version"):
            run_livyctl(ctl, "up", "--wait", "120", check=False)
