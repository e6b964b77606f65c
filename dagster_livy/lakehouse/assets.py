"""Silver sources, the three gold assets (daily partitions, built in one Livy batch), checks.

The gold tables are one multi-asset: a run builds the selected tables (any subset) for its date or
date range in ONE Livy batch (spark_scripts/batch_gold.py), on one silver read and validation. Each
daily partition's materialization carries that date's own figures, also when a range runs as one
batch (`gold_partition_metadata`); see METADATA for what each entry means.
"""


import warnings

import dagster as dg

from dagster_livy.lakehouse.freshness import FRESHNESS_POLICY, build_freshness_checks
from dagster_livy.lakehouse.packaging import package_zip
from dagster_livy.lakehouse.pools import LIVY_POOL
from dagster_livy.lakehouse.settings import SCRIPTS_DIR, LakehouseSettings
from dagster_livy.pipes import PipesLivyClient
from dagster_livy.resource import retry_transient_only
# tables, not contract: the code location never imports pyspark.
from lakehouse_jobs import tables as c

DAILY = dg.DailyPartitionsDefinition(start_date=LakehouseSettings.from_env().start_date, timezone="UTC")
# Livy batches share one small machine/cluster: the `livy` pool (pools.py) caps how many run at
# once, and a backfill runs the selected tables' date range as one batch.
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
                dg.LocalFileCodeReference(file_path=str(SCRIPTS_DIR / script),
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


def _single_run() -> dg.BackfillPolicy:
    with warnings.catch_warnings():  # BackfillPolicy.single_run is beta; it is what a range-in-one-batch needs
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.BackfillPolicy.single_run()


GOLD_SCRIPT = "batch_gold.py"
GOLD_DESCRIPTIONS = {
    c.CUSTOMER_ANALYTICS: "One row per customer and day: activity, orders, revenue and segment.",
    c.SALES_SUMMARY: "One row per category and day: orders, revenue and change against the previous day.",
    c.PRODUCT_PERFORMANCE: "One row per product and day: views, conversion, revenue and rank.",
}

# What the metadata of a gold partition's materialization means (README glossary; UI descriptions).
METADATA = {
    "dagster/row_count": "rows of this table for this partition's date, as committed by the run",
    "revenue": "sum of revenue for the date (float; exact to the cent below 10^13 - the exact decimal "
               "total is the revenue_matches_silver check's gold_revenue)",
    "rejected_rows": "silver rows of the date this table reads that failed validation (all reasons)",
    "rejected.<silver table>.<reason>": "those rejected rows by silver table and reason",
    "snapshot_id": "the Iceberg snapshot the run committed (covers every date of the run)",
    "checks": "the run's data-quality checks, evaluated once over the run's dates",
    "run_dates": "the dates the run built in one batch (this partition is one of them)",
    "duration_s": "seconds in the Spark driver from the start of the silver read to the end of this "
                  "table's checks (no JVM/SparkSession start, no Livy); a batch builds its tables in turn "
                  "on one silver read, so a later table's figure includes the earlier ones",
    "livy_duration_s": "seconds from Livy accepting the batch to Dagster seeing it end with its log read: "
                       "spark-submit, JVM and SparkSession start, every table of the batch, and stop",
    "livy_batch_name / livy_batch_id / livy_state / livy_batch_url": "the Livy batch that ran (text: not plotted)",
}


def _dep(table: str, mapping: dg.PartitionMapping | None = None) -> dg.AssetDep:
    return dg.AssetDep(table_key(table), partition_mapping=mapping)


GOLD_DEPS = {
    c.CUSTOMER_ANALYTICS: [_dep(c.PAGE_VIEWS), _dep(c.PURCHASES), _dep(c.PRODUCTS)],
    c.SALES_SUMMARY: [_dep(c.PURCHASES, PREVIOUS_DAY_TOO), _dep(c.PRODUCTS)],
    c.PRODUCT_PERFORMANCE: [_dep(c.PAGE_VIEWS), _dep(c.PURCHASES), _dep(c.PRODUCTS)],
}


def _gold_spec(table: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        table_key(table), deps=GOLD_DEPS[table], group_name="gold", partitions_def=DAILY,
        description=f"{GOLD_DESCRIPTIONS[table]} {PARTITION_NOTE} Built by {GOLD_SCRIPT} (one Livy batch for "
                    "the selected gold tables and dates); each partition reports its own date's figures.",
        owners=OWNERS, tags={"layer": "gold", "domain": "ecommerce"}, kinds={"spark", "iceberg", "livy"},
        metadata={**table_metadata(table, GOLD_SCRIPT), "script": GOLD_SCRIPT},
        freshness_policy=FRESHNESS_POLICY,
    )


def _check_specs(table: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=table_key(table), blocking=True,
                              description=f"Passes when {rule}. ({severity}; evaluated over the run's dates)")
            for name, (severity, rule) in c.CHECKS[table].items()]


def _text(value) -> dg.MetadataValue:
    return dg.MetadataValue.text(str(value))


def gold_partition_metadata(message: dict, date: str) -> dict[str, dg.MetadataValue]:
    """One partition's own metadata, from the script's per-table Pipes message (reporting.py)."""
    figures = message["partitions"][date]
    checks = message["checks"]
    failed = [r["check_name"] for r in checks if not r["passed"]]
    span = message["start"] if message["start"] == message["end"] else f"{message['start']}..{message['end']}"
    md = {
        "dagster/row_count": dg.MetadataValue.int(figures["rows"]),
        "revenue": dg.MetadataValue.float(float(figures["revenue"])),
        "rejected_rows": dg.MetadataValue.int(figures["rejected_rows"]),
        **{k: dg.MetadataValue.int(v) for k, v in figures.items() if k.startswith("rejected.")},
        "snapshot_id": _text(message["snapshot_id"]),
        "checks": _text(f"{len(checks) - len(failed)}/{len(checks)} passed over {span}"
                        + (f"; failed: {', '.join(failed)}" if failed else "")),
        "run_dates": _text(span),
        "duration_s": dg.MetadataValue.float(float(message["duration_s"])),
    }
    app = message.get("app") or {}
    for key in ("spark_application_id", "spark_master", "spark_driver_ui"):
        if app.get(key):
            md[key] = _text(app[key])
    return md




@dg.multi_asset(
    name="gold_tables", specs=[_gold_spec(t) for t in c.GOLD_TABLES], can_subset=True,
    check_specs=[spec for t in c.GOLD_TABLES for spec in _check_specs(t)],
    pool=LIVY_POOL, retry_policy=RETRY, backfill_policy=_single_run(),
    description="The three gold tables, any subset, for a date or date range in one Livy batch.",
)
def gold_tables(context: dg.AssetExecutionContext, pipes_livy: PipesLivyClient):
    settings = LakehouseSettings.from_env()  # at run time: the environment may point elsewhere
    selected = [t for t in c.GOLD_TABLES if table_key(t) in context.selected_asset_keys]
    dates = context.partition_key_range
    with retry_transient_only():
        invocation = pipes_livy.run(
            context=context, file=settings.script(GOLD_SCRIPT),
            args=["--start", dates.start, "--end", dates.end, "--tables", ",".join(selected)],
            py_files=[package_zip(settings.staging_dir).as_uri()],
        )
    messages = {m["table"]: m for m in invocation.get_custom_messages()
                if isinstance(m, dict) and m.get("kind") == c.GOLD_PARTITIONS_MESSAGE}
    missing = [t for t in selected if t not in messages]
    if missing:
        raise dg.Failure(f"{GOLD_SCRIPT} ended without reporting {', '.join(missing)} for {dates.start}..{dates.end} "
                         f"(batch {invocation.metadata.get('livy_batch_name')}): see the driver log above")
    batch = dict(invocation.metadata)  # ids as text (resource.batch_metadata): not plotted
    for table in selected:
        key = table_key(table)
        # Per-partition metadata: Dagster merges it into the one materialization it records per
        # partition of the range (MaterializeResult and Pipes' report_asset_materialization
        # take no partition). No range totals are added, so nothing overwrites a date's figures.
        for date in messages[table]["partitions"]:
            context.add_asset_metadata(gold_partition_metadata(messages[table], date),
                                       asset_key=key, partition_key=date)
        yield dg.MaterializeResult(asset_key=key, metadata=batch)
    # The checks as the script reported them (the script's own range-level materialization, used by
    # Pipes users of the single-table scripts, is not used here).
    yield from (r for r in invocation.get_results(implicit_materializations=False)
                if isinstance(r, dg.AssetCheckResult))
GOLD = [gold_tables]
GOLD_KEYS = {t: table_key(t) for t in c.GOLD_TABLES}

# A gold partition for day D must exist by 06:00 UTC on D+1 (rule and clock in freshness.py).
FRESHNESS = build_freshness_checks(GOLD)
