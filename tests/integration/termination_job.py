"""A job for the termination test: one asset that runs a long Livy batch (see test_lifecycle)."""

import os

import dagster as dg

from dagster_livy import LivyResource


@dg.asset
def long_running(context: dg.AssetExecutionContext, livy: LivyResource) -> None:
    livy.run_batch(context, os.environ["TERMINATION_TEST_FILE"], args=["300"])


defs = dg.Definitions(
    assets=[long_running],
    jobs=[dg.define_asset_job("long_job", [long_running], executor_def=dg.in_process_executor)],
    resources={"livy": LivyResource(url=dg.EnvVar("LIVY_URL"))},
)
