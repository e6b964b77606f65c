"""Silver sources, the three gold assets (daily partitions, built by Livy batches), checks."""


import warnings

import dagster as dg

from dagster_livy.lakehouse.freshness import build_freshness_checks
from dagster_livy.lakehouse.packaging import package_zip
from dagster_livy.lakehouse.settings import REPO, LakehouseSettings
from dagster_livy.pipes import PipesLivyClient
from dagster_livy.resource import retry_transient_only
# tables, not contract: the code location never imports pyspark.
from lakehouse_jobs import tables as c

DAILY = dg.DailyPartitionsDefinition(start_date=LakehouseSettings.from_env().start_date, timezone="UTC")
# Livy batches share one small machine/cluster: the `livy` pool caps how many run at once
# (limit in dagster.yaml), and a backfill runs each asset's date range as one batch.
LIVY_POOL = "livy"
# Retried only for transient failures (Livy unreachable, lost batch, 5xx, catalog contention):
# the asset body runs inside retry_transient_only, which fails permanent errors at once.
RETRY = dg.RetryPolicy(max_retries=1, delay=10)


OWNERS = ["team:data-platform"]
PARTITION_NOTE = (f"Daily UTC partitions from {DAILY.start.date()} (LAKEHOUSE_START_DATE) to yesterday.")


def table_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


def table_metadata(table: str, script: str | None = None) -> dict:
    """Dagster's standard table metadata, from the data contract (tables.py)."""
    md = {
        "dagster/table_name": c.qualified(table),
        "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in c.COLUMNS[table]]),
    }
    if script:
        with warnings.catch_warnings():  # code references are Dagster's documented (beta) API
            warnings.simplefilter("ignore", dg.BetaWarning)
            md["dagster/code_references"] = dg.CodeReferencesMetadataValue(code_references=[
                dg.LocalFileCodeReference(file_path=str(REPO / "spark_scripts" / script),
                                          label="Spark batch script")])
    return md


def _silver(table: str, description: str, partitioned: bool = True) -> dg.AssetSpec:
    return dg.AssetSpec(
        table_key(table), group_name="silver", kinds={"iceberg"}, owners=OWNERS,
        tags={"layer": "silver", "domain": "ecommerce"}, partitions_def=DAILY if partitioned else None,
        description=f"{description} {PARTITION_NOTE if partitioned else ''}".strip(),
        metadata=table_metadata(table))


SILVER = [
    _silver(c.PRODUCTS, "Product dimension (full snapshot).", partitioned=False),
    _silver(c.PAGE_VIEWS, "Page views, partitioned by event_date."),
    _silver(c.PURCHASES, "Order lines, partitioned by event_date."),
]
PREVIOUS_DAY_TOO = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=0)


def gold_asset(table: str, script: str, deps: list[dg.AssetDep], description: str) -> dg.AssetsDefinition:
    with warnings.catch_warnings():  # BackfillPolicy.single_run is beta; it is what a range-in-one-batch needs
        warnings.simplefilter("ignore", dg.BetaWarning)
        return _gold_asset(table, script, deps, description)


def _gold_asset(table: str, script: str, deps: list[dg.AssetDep], description: str) -> dg.AssetsDefinition:
    key = table_key(table)

    @dg.asset(
        key=key, partitions_def=DAILY, deps=deps, group_name="gold", description=f"{description} {PARTITION_NOTE}",
        owners=OWNERS, tags={"layer": "gold", "domain": "ecommerce"},
        kinds={"spark", "iceberg", "livy"}, pool=LIVY_POOL, retry_policy=RETRY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=[dg.AssetCheckSpec(name, asset=key, blocking=True, description=f"Passes when {rule}. ({severity})")
                     for name, (severity, rule) in c.CHECKS[table].items()],
        metadata={**table_metadata(table, script), "script": script},
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

# A gold partition for day D must exist by 06:00 UTC on D+1 (rule and clock in freshness.py).
FRESHNESS = build_freshness_checks(GOLD)
