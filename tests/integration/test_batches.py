"""dagster_livy against the real Livy server: batch runner, resource, Pipes client."""

import os
from pathlib import Path

import dagster as dg
import pytest

from dagster_livy import (
    BatchRunner,
    LivyBatchFailedError,
    LivyClient,
    LivyResource,
    LivyState,
    PipesLivyClient,
    PollPolicy,
)
from dagster_livy.bodies import build_batch_body
from tests.conftest import unique_name

pytestmark = pytest.mark.integration
SCRIPTS = Path(__file__).resolve().parent.parent / "livy_scripts"


@pytest.fixture
def client(livy_stack):
    with LivyClient(livy_stack.url) as c:
        yield c


def test_runner_streams_5000_lines_once_each(livy_stack, client):
    seen: list[str] = []
    runner = BatchRunner(client, on_lines=seen.extend)
    body = build_batch_body(livy_stack.stage(SCRIPTS / "printer.py"), name=unique_name("printer"), args=["5000"])
    result = runner.run(body)
    assert result.state is LivyState.SUCCESS
    numbered = [l for l in seen if l.startswith("line ")]
    assert len(numbered) == len(set(numbered)), "a log line was delivered twice"
    assert numbered == [f"line {i:05d}" for i in range(5000)]
    assert "printer done" in seen
    assert client.find_batch_by_name(body["name"]) is None, "finished batch should be deleted"


def test_runner_raises_with_driver_traceback(livy_stack, client):
    body = build_batch_body(livy_stack.stage(SCRIPTS / "raising.py"), name=unique_name("raising"), args=["7"])
    with pytest.raises(LivyBatchFailedError) as err:
        BatchRunner(client).run(body)
    assert err.value.state == "dead"
    assert "Traceback (most recent call last):" in str(err.value)
    assert "ValueError: boom from the driver: 7 rows is not enough" in str(err.value)
    assert err.value.batch_name == body["name"]


def test_reattach_to_running_batch_of_earlier_attempt(livy_stack, client):
    first = unique_name("reattach")
    staged = livy_stack.stage(SCRIPTS / "sleeper.py")
    client.submit_batch(build_batch_body(staged, name=first, args=["6"]))
    events: list[str] = []
    retry_body = build_batch_body(staged, name=f"{first}-r1", args=["6"])
    result = BatchRunner(client, on_event=events.append).run(retry_body, previous_names=[first])
    assert result.reattached and result.name == first
    assert result.state is LivyState.SUCCESS
    assert client.find_batch_by_name(f"{first}-r1") is None, "the retry submitted a second batch"
    assert any("Reattached" in e for e in events)


def test_end_of_batch_is_detected_and_measured(livy_stack, client):
    """The latency and request goals are measured in bench/ (`python -m bench --sections 2`);
    here the runner must report what it measures, and a quiet batch's log needs no page read
    while it runs: GET /batches/{name} carries the newest lines (the one read after the end
    settles the log)."""
    body = build_batch_body(livy_stack.stage(SCRIPTS / "sleeper.py"), name=unique_name("latency"), args=["3"])
    pages: list[int] = []

    class CountingClient(LivyClient):
        def get_batch_log(self, *args, **kwargs):
            pages.append(1)
            return super().get_batch_log(*args, **kwargs)

    seen: list[str] = []
    with CountingClient(livy_stack.url) as counting:
        result = BatchRunner(counting, poll=PollPolicy(initial_s=0.25, max_s=1.0), on_lines=seen.extend).run(body)
    print(f"\nend of batch detected {result.end_detected_s:.2f} s after the last running poll, "
          f"{result.requests} requests, {len(pages)} log pages, {len(seen)} lines")
    assert result.state is LivyState.SUCCESS and result.end_detected_s is not None
    assert "sleeper done" in seen and len(seen) == len(set(seen))
    polls = result.requests - 1 - len(pages)
    assert len(pages) < polls / 2, "the log page should be read only when the window misses lines"


# -- Dagster ------------------------------------------------------------------------------

def event_log_text(instance: dg.DagsterInstance, run_id: str) -> str:
    return "\n".join(e.user_message or "" for e in instance.all_logs(run_id))


def resources(livy_stack, **livy_kwargs):
    livy = LivyResource(url=livy_stack.url, **livy_kwargs)
    return {"livy": livy, "pipes_livy": PipesLivyClient(livy=livy)}


def test_pipes_success_reports_metadata_and_check(livy_stack):
    staged = livy_stack.stage(SCRIPTS / "pipes_ok.py")

    @dg.asset(check_specs=[dg.AssetCheckSpec("has_rows", asset="pipes_table")])
    def pipes_table(context: dg.AssetExecutionContext, pipes_livy: PipesLivyClient):
        yield from pipes_livy.run(context=context, file=staged, extras={"tag": "t-42"}).get_results()

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([pipes_table], resources=resources(livy_stack), instance=instance)
    assert result.success
    mat = result.asset_materializations_for_node("pipes_table")[0]
    assert mat.metadata["rows"].value == 3
    assert mat.metadata["extra"].value == "t-42"
    assert mat.metadata["livy_batch_url"].value.startswith(livy_stack.url + "/batches/pipes_table--")
    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [("has_rows", True)]
    logs = event_log_text(instance, result.run_id)
    assert "plain driver line after" in logs
    assert '"__dagster_pipes_version"' not in logs


def test_pipes_shared_dir_channel_for_cluster_mode(livy_stack, tmp_path):
    """Messages through files in a directory the driver and Dagster share (cluster deploy mode)."""
    staged = livy_stack.stage(SCRIPTS / "pipes_ok.py")

    @dg.asset(check_specs=[dg.AssetCheckSpec("has_rows", asset="shared_dir_table")])
    def shared_dir_table(context: dg.AssetExecutionContext, pipes_livy: PipesLivyClient):
        yield from pipes_livy.run(context=context, file=staged, extras={"tag": "shared"}).get_results()

    livy = LivyResource(url=livy_stack.url)
    pipes = PipesLivyClient(livy=livy, message_channel="shared_dir", shared_dir=str(tmp_path / "pipes"))
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([shared_dir_table], resources={"pipes_livy": pipes}, instance=instance)
    assert result.success
    mat = result.asset_materializations_for_node("shared_dir_table")[0]
    assert mat.metadata["rows"].value == 3 and mat.metadata["extra"].value == "shared"
    assert [(c.check_name, c.passed) for c in result.get_asset_check_evaluations()] == [("has_rows", True)]
    # The messages did not travel through the log: the log lines carry no Pipes JSON.
    assert '"__dagster_pipes_version"' not in event_log_text(instance, result.run_id)


def test_pipes_failure_carries_the_traceback(livy_stack):
    staged = livy_stack.stage(SCRIPTS / "raising.py")

    @dg.asset
    def failing_table(context: dg.AssetExecutionContext, pipes_livy: PipesLivyClient):
        return pipes_livy.run(context=context, file=staged, args=["1"]).get_materialize_result()

    result = dg.materialize([failing_table], resources=resources(livy_stack), raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    text = str(failure.step_failure_data.error)
    assert "ValueError: boom from the driver: 1 rows is not enough" in text
    assert "ended in state dead" in text


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def test_deleted_batch_ends_its_idle_driver_only_with_the_parent_watchdog(livy_stack, client):
    """DELETE kills spark-submit's JVM, not the Python driver its PythonRunner started: a driver
    idle in pure Python ends only if it armed lakehouse_jobs.parentwatch. The control (same
    script, unarmed) is shown to outlive its JVM, so this test can fail; the test kills it."""
    import signal
    import time

    from dagster_livy.lakehouse.packaging import package_zip
    from tests.conftest import wait_for

    if not livy_stack.started_here:
        pytest.skip("driver processes are only visible for the suite's own Livy")
    stackproc = livy_stack.stackproc
    script = livy_stack.stage(SCRIPTS / "orphan_driver.py")
    py_files = [package_zip(livy_stack.staging_dir).as_uri()]
    names = {mode: unique_name(f"orphan-{mode}") for mode in ("watch", "nowatch")}
    for mode, name in names.items():
        client.submit_batch(build_batch_body(script, name=name, args=[mode, "600"], py_files=py_files,
                                             conf={"spark.log.level": "WARN"}))
    drivers: dict[str, int] = {}
    try:
        jvms = {}
        for mode, name in names.items():
            drivers[mode] = wait_for(lambda: next((p.pid for p in livy_stack.drivers("orphan_driver.py")
                                                   if p.cmdline.endswith(f"orphan_driver.py {mode} 600")), None),
                                     120, f"the driver of {name}")
            # The premise, checked: in local/client mode the driver's parent IS spark-submit's JVM.
            jvm = stackproc.read_proc(_ppid(drivers[mode]))
            assert jvm and "org.apache.spark.deploy.SparkSubmit" in jvm.cmdline and f"--name {name}" in jvm.cmdline
            jvms[mode] = jvm.pid
            # Armed (or not) before the DELETE: the driver says so in the batch log.
            line = wait_for(lambda: next((l for l in client.get_batch_log(name, size=-1).lines
                                          if l.startswith("orphan_driver pid=")), None), 60, f"{name}'s first line")
            assert f"watchdog={mode == 'watch'}" in line, line
            print(f"\n{line[:200]}...")
        began = time.monotonic()
        for name in names.values():
            client.delete_batch(name)
        for mode, jvm in jvms.items():
            wait_for(lambda: not stackproc.alive(jvm), 60, f"spark-submit of {names[mode]} to die")
        wait_for(lambda: not stackproc.alive(drivers["watch"]), 30, "the armed driver to exit after DELETE")
        watched_s = time.monotonic() - began
        # The control outlived its JVM: reparented, alive, idle.
        assert stackproc.alive(drivers["nowatch"]), "the unarmed driver died too: the test proves nothing"
        assert _ppid(drivers["nowatch"]) != jvms["nowatch"]
        print(f"\nFIGURE driver after DELETE: with the watchdog gone {watched_s:.1f}s after the DELETE; "
              f"without it still alive {time.monotonic() - began:.1f}s after (reparented to pid "
              f"{_ppid(drivers['nowatch'])}), killed by the test")
    finally:
        for pid in drivers.values():
            if stackproc.alive(pid):
                os.kill(pid, signal.SIGKILL)
        for name in names.values():
            client.delete_batch(name)
