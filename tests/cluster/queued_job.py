"""A code location for the queued-runs test: one daily-partitioned asset in the `livy` pool whose
step runs a real Livy batch (tests/livy_scripts/held.py, staged by the test: the batch holds a
Livy slot and a driver process without starting executors, so 30 runs fit in `make test`).

The test queues one run per partition with `dagster job backfill -m tests.cluster.queued_job -j
queued_one_day_runs` and lets the real daemon launch them: each run is its own process, and the
daemon's queued run coordinator and the step both respect the instance's `livy` pool limit.
"""

import os

import dagster as dg

from dagster_livy import LivyResource
from dagster_livy.lakehouse.pools import LIVY_POOL

DAYS = dg.DailyPartitionsDefinition(start_date="2026-09-01", end_date="2026-11-01")


@dg.asset(partitions_def=DAYS, pool=LIVY_POOL)
def one_day_batch(context: dg.AssetExecutionContext, livy: LivyResource) -> dg.MaterializeResult:
    # held.py: alive until the test's release file exists (so the test sees the pool's limit
    # reached without depending on timing), then a short sleep.
    result = livy.run_batch(context, os.environ["QUEUED_SCRIPT"],
                            args=[os.environ["QUEUED_RELEASE"], "300", os.environ.get("QUEUED_SLEEP_S", "1")])
    return dg.MaterializeResult(metadata={"livy_batch_id": str(result.batch_id)})


defs = dg.Definitions(
    assets=[one_day_batch],
    jobs=[dg.define_asset_job("queued_one_day_runs", [one_day_batch], executor_def=dg.in_process_executor)],
    resources={"livy": LivyResource(url=dg.EnvVar("LIVY_URL"))},
)
