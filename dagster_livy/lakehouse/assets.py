"""Silver sources, the three gold assets (daily partitions, built by Livy batches), checks."""


import dagster as dg

from dagster_livy.lakehouse.packaging import package_zip
from dagster_livy.lakehouse.settings import LakehouseSettings
from dagster_livy.pipes import PipesLivyClient
from dagster_livy.resource import retry_transient_only
from lakehouse_jobs import contract as c
from lakehouse_jobs.checks import CHECK_NAMES

DAILY = dg.DailyPartitionsDefinition(start_date=LakehouseSettings.from_env().start_date, timezone="UTC")
# Livy batches share one small machine/cluster: the `livy` pool caps how many run at once
# (limit in dagster.yaml), and a backfill runs each asset's date range as one batch.
LIVY_POOL = "livy"
# Retried only for transient failures (Livy unreachable, lost batch, 5xx, catalog contention):
# the asset body runs inside retry_transient_only, which fails permanent errors at once.
RETRY = dg.RetryPolicy(max_retries=1, delay=10)


def table_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


SILVER = [
    dg.AssetSpec(table_key(c.PRODUCTS), group_name="silver", kinds={"iceberg"},
                 description="Product dimension (full snapshot)."),
    dg.AssetSpec(table_key(c.PAGE_VIEWS), group_name="silver", kinds={"iceberg"}, partitions_def=DAILY,
                 description="Page views, partitioned by event_date (UTC)."),
    dg.AssetSpec(table_key(c.PURCHASES), group_name="silver", kinds={"iceberg"}, partitions_def=DAILY,
                 description="Order lines, partitioned by event_date (UTC)."),
]
PREVIOUS_DAY_TOO = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=0)


def gold_asset(table: str, script: str, deps: list[dg.AssetDep], description: str) -> dg.AssetsDefinition:
    key = table_key(table)

    @dg.asset(
        key=key, partitions_def=DAILY, deps=deps, group_name="gold", description=description,
        kinds={"spark", "iceberg", "livy"}, pool=LIVY_POOL, retry_policy=RETRY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=[dg.AssetCheckSpec(name, asset=key, blocking=True) for name in CHECK_NAMES[table]],
        metadata={"table": f"{c.CATALOG}.{table}", "script": script},
    )
    def _gold(context: dg.AssetExecutionContext, pipes_livy: PipesLivyClient):
        settings = LakehouseSettings.from_env()  # at run time: the environment may point elsewhere
        dates = context.partition_key_range
        with retry_transient_only():
            yield from pipes_livy.run(
                context=context, file=settings.script(script), args=["--start", dates.start, "--end", dates.end],
                py_files=[package_zip(settings.staging_dir).as_uri()],
            ).get_results()

    return _gold


def _dep(table: str, mapping: dg.PartitionMapping | None = None) -> dg.AssetDep:
    return dg.AssetDep(table_key(table), partition_mapping=mapping)


customer_analytics = gold_asset(
    c.CUSTOMER_ANALYTICS, "batch_customer_analytics.py",
    [_dep(c.PAGE_VIEWS), _dep(c.PURCHASES), _dep(c.PRODUCTS)],
    "One row per customer and day: activity, orders, revenue and segment.")
sales_summary = gold_asset(
    c.SALES_SUMMARY, "batch_sales_summary.py",
    [_dep(c.PURCHASES, PREVIOUS_DAY_TOO), _dep(c.PRODUCTS)],
    "One row per category and day: orders, revenue and change against the previous day.")
product_performance = gold_asset(
    c.PRODUCT_PERFORMANCE, "product_performance_analytics.py",
    [_dep(c.PAGE_VIEWS), _dep(c.PURCHASES), _dep(c.PRODUCTS)],
    "One row per product and day: views, conversion, revenue and rank.")

GOLD = [customer_analytics, sales_summary, product_performance]

# A gold partition for day D must exist by 06:00 UTC on D+1.
FRESHNESS = dg.build_time_partition_freshness_checks(
    assets=GOLD, deadline_cron="0 6 * * *", timezone="UTC")
freshness_sensor = dg.build_sensor_for_freshness_checks(freshness_checks=FRESHNESS)
