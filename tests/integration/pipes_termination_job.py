"""A job for the Pipes termination test: one asset that runs a long Livy batch through
PipesLivyClient with forward_termination from PIPES_FORWARD_TERMINATION (see test_pipes_client)."""

import os

import dagster as dg

from dagster_livy import LivyResource, PipesLivyClient


@dg.asset
def long_pipes(context: dg.AssetExecutionContext, pipes_livy: PipesLivyClient):
    return pipes_livy.run(context=context, file=os.environ["TERMINATION_TEST_FILE"], args=["300"]).get_results()


defs = dg.Definitions(
    assets=[long_pipes],
    jobs=[dg.define_asset_job("long_pipes_job", [long_pipes], executor_def=dg.in_process_executor)],
    resources={"pipes_livy": PipesLivyClient(
        livy=LivyResource(url=dg.EnvVar("LIVY_URL")),
        forward_termination=os.environ.get("PIPES_FORWARD_TERMINATION", "1") == "1")},
)
