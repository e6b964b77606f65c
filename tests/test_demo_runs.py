"""`make demo`'s runs appear where a user's own runs do: on the job page and the timeline.

The UI's job page lists runs filtered by job name AND the repository label tag
(`.dagster/repository` = `<repository>@<code location>`), and the timeline groups runs by their
repository origin; a run made by `execute_in_process` has neither. The demo's runner is exercised on
the job that needs no Spark (gold_freshness_checks); silver_to_gold_processing goes through the same
function (demo.run_job) in `make demo`.
"""

from pathlib import Path

import dagster as dg
import pytest
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget, PyProjectFileTarget
from dagster_graphql.test.utils import execute_dagster_graphql

from dagster_livy.lakehouse import demo

REPO = Path(__file__).resolve().parent.parent
JOB = "gold_freshness_checks"

JOB_PAGE_QUERY = """
query JobRuns($filter: RunsFilter!) {
  pipelineRunsOrError(filter: $filter) {
    __typename
    ... on Runs { results { runId pipelineName repositoryOrigin { repositoryLocationName repositoryName } } }
  }
}
"""


@pytest.fixture
def instance(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_NOW", "2025-03-04T07:00:00+00:00")  # the check's clock, for the step processes
    with dg.instance_for_test(temp_dir=str(tmp_path)) as inst:
        yield inst


def test_demo_run_is_listed_on_the_job_page_of_the_dev_code_location(instance):
    run = demo.run_job(JOB, instance, "2025-03-03", "2025-03-03")
    assert run.success, [e.message for e in run.all_events if e.is_failure]
    stored = instance.get_run_by_id(run.run_id)

    # The code location `make dev` (dagster dev, pyproject's [tool.dagster]) serves: same name.
    [dev_origin] = PyProjectFileTarget(str(REPO / "pyproject.toml")).create_origins()
    origin = stored.remote_job_origin
    assert origin is not None and stored.job_code_origin is not None
    assert origin.repository_origin.code_location_origin.location_name == dev_origin.location_name
    assert origin.job_name == JOB
    label = f"{origin.repository_origin.repository_name}@{dev_origin.location_name}"
    assert label == "__repository__@lakehouse"
    by_filter = instance.get_runs(dg.RunsFilter(job_name=JOB, tags={".dagster/repository": label}))
    assert [r.run_id for r in by_filter] == [run.run_id]

    # What the webserver answers to the job page's query (job name + repository label tag).
    target = InProcessWorkspaceLoadTarget(origin.repository_origin.code_location_origin)
    with WorkspaceProcessContext(instance, target) as process_context:
        result = execute_dagster_graphql(process_context.create_request_context(), JOB_PAGE_QUERY, {
            "filter": {"pipelineName": JOB, "tags": [{"key": ".dagster/repository", "value": label}]}})
    runs = result.data["pipelineRunsOrError"]["results"]
    assert [r["runId"] for r in runs] == [run.run_id]
    assert runs[0]["repositoryOrigin"] == {"repositoryLocationName": "lakehouse", "repositoryName": "__repository__"}
    # The events the demo summarizes are read back from the instance.
    assert any(e.event_type_value == "ASSET_CHECK_EVALUATION" for e in run.all_events)
