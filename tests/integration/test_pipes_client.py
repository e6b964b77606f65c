"""PipesLivyClient as a Dagster Pipes client (issue 11): injected context injector and message
reader carry the Pipes traffic; forward_termination=False leaves the batch running when the run
is terminated (the default, deleting it, is covered by the reliability suite's termination test)."""

import signal
from contextlib import contextmanager

import dagster as dg
import pytest

from dagster_livy import LivyResource, LivyState, PipesLivyClient
from tests.conftest import REPO, processes_with, run_worker_with_running_batch, wait_for

pytestmark = pytest.mark.integration
SCRIPTS = REPO / "tests" / "livy_scripts"


class CountingFileContextInjector(dg.PipesFileContextInjector):
    """Dagster's file context injector, counting the sessions it served."""

    sessions = 0

    @contextmanager
    def inject_context(self, context_data):
        self.sessions += 1
        with super().inject_context(context_data) as params:
            yield params


class CountingFileMessageReader(dg.PipesFileMessageReader):
    """Dagster's file message reader, counting the sessions it served."""

    sessions = 0

    @contextmanager
    def read_messages(self, handler):
        self.sessions += 1
        with super().read_messages(handler) as params:
            yield params


def test_injected_context_injector_and_message_reader_carry_pipes(livy_stack, tmp_path):
    """Local mode: the driver runs on this machine, so files here are the shared location."""
    staged = livy_stack.stage(SCRIPTS / "pipes_plain.py")

    @dg.asset(check_specs=[dg.AssetCheckSpec("has_rows", asset="injected_table")])
    def injected_table(context: dg.AssetExecutionContext, pipes_livy: PipesLivyClient):
        yield from pipes_livy.run(context=context, file=staged, extras={"tag": "injected"}).get_results()

    injector = CountingFileContextInjector(str(tmp_path / "context.json"))
    reader = CountingFileMessageReader(str(tmp_path / "messages.jsonl"))
    pipes = PipesLivyClient(livy=LivyResource(url=livy_stack.url), context_injector=injector, message_reader=reader)
    dg.Definitions.validate_loadable(dg.Definitions(assets=[injected_table], resources={"pipes_livy": pipes}))
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([injected_table], resources={"pipes_livy": pipes}, instance=instance)
    assert result.success
    assert (injector.sessions, reader.sessions) == (1, 1)
    mat = result.asset_materializations_for_node("injected_table")[0]
    assert mat.metadata["rows"].value == 3 and mat.metadata["extra"].value == "injected"
    assert mat.metadata["livy_state"].value == "success"
    assert [(c.check_name, c.passed) for c in result.get_asset_check_evaluations()] == [("has_rows", True)]
    logs = "\n".join(e.user_message or "" for e in instance.all_logs(result.run_id))
    assert "plain driver line after" in logs and '"__dagster_pipes_version"' not in logs
    assert not (tmp_path / "context.json").exists(), "the injector's file outlived the session"


def test_forward_termination_false_leaves_the_batch_running(livy_stack, tmp_path):
    with run_worker_with_running_batch(livy_stack, tmp_path, "tests.integration.pipes_termination_job",
                                       "long_pipes_job", "long_pipes--", PIPES_FORWARD_TERMINATION="0") as worker:
        try:
            worker.proc.send_signal(signal.SIGTERM)
            worker.proc.wait(timeout=120)  # the run worker ended ...
            kept = worker.client.find_batch_by_name(worker.batch.name)
            assert kept is not None and kept.state is LivyState.RUNNING  # ... and its batch runs on
            assert processes_with(worker.marker)
        finally:
            worker.client.delete_batch(worker.batch.name)  # the test's own cleanup
    output = worker.output()
    assert "running on purpose" in output and "forward_termination=False" in output, output[-3000:]
    runs = worker.runs()
    assert len(runs) == 1 and runs[0].status in (dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.FAILURE)
    wait_for(lambda: not processes_with(worker.marker), 60, "spark-submit to exit after the test's delete")
