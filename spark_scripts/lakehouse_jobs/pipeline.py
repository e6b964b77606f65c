"""The gold pipeline in stages, shared by the batch scripts (`run_gold_job`) and the notebooks.

    inputs = load_inputs(spark, table, start, end)   # read silver, validate, count rejections
    df = build(inputs)                                # the gold DataFrame (nothing written yet)
    result = write_and_check(spark, inputs, df)       # atomic write of [start, end] + checks

`run_gold_job` is exactly these three calls, so a notebook that runs them step by step writes the
rows the batch script writes.
"""

import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from . import checks, gold, io, validity
from . import contract as c


@dataclass
class JobResult:
    """What one gold run wrote and found."""

    table: str
    start: dt.date
    end: dt.date
    rows: int
    revenue: Decimal
    snapshot_id: int | None
    rejected: dict[str, dict[str, int]]  # silver table -> reason -> rows
    checks: list[dict] = field(default_factory=list)
    duration_s: float = 0.0
    # Per date (ISO) of [start, end]: {"rows": int, "revenue": Decimal}; and rejections per date:
    # silver table -> date -> reason -> rows. What each daily partition reports on its own.
    by_date: dict[str, dict] = field(default_factory=dict)
    rejected_by_date: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    @property
    def dates(self) -> list[str]:
        return [d.isoformat() for d in io.dates_between(self.start, self.end)]


@dataclass
class GoldInputs:
    """Validated silver for one gold table and date range."""

    table: str
    start: dt.date
    end: dt.date
    catalog: str
    valid: dict[str, DataFrame]              # silver table -> valid rows (with `category`)
    rejected: dict[str, dict[str, int]]      # silver table -> reason -> rows
    prev_purchases: DataFrame | None = None  # valid purchases of start - 1 day (sales summary)
    began: float = field(default_factory=time.monotonic)
    rejected_by_date: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # table -> date -> reason

    @property
    def page_views(self) -> DataFrame | None:
        return self.valid.get(c.PAGE_VIEWS)

    @property
    def purchases(self) -> DataFrame:
        return self.valid[c.PURCHASES]


def _materialize(df: DataFrame) -> DataFrame:
    """Compute once for the counts, the build and the checks.

    localCheckpoint, not persist/cache: caching clones the Spark session, the clone opens a second
    Iceberg JDBC catalog, and Iceberg 1.9's JdbcCatalog leaves a metadata ResultSet open on
    its first connection, so on SQLite that clone's read lock makes our own commit fail with
    SQLITE_BUSY.

    Not eager: the checkpoint is filled by the first action that reads it, `load_inputs`' one
    summary, which so computes the rows of every fact table in ONE job (they run side by side)
    instead of a job each plus a second pass over the stored rows for the summary. (AQE still runs
    the shuffle stages below the checkpoint here, when its plan is executed.)
    """
    return df.localCheckpoint(eager=False)


# The silver columns each gold table's build (gold.py) and checks (checks.py) read. A test builds
# and checks every table from inputs narrowed to these (tests/spark/test_gold.py, test_cli.py), so a
# column missing here fails loudly.
COLUMNS_READ = {
    c.CUSTOMER_ANALYTICS: {
        c.PAGE_VIEWS: ("customer_id", "session_id", "product_id", "page_type", "event_date"),
        c.PURCHASES: ("order_id", "customer_id", "quantity", "unit_price", "event_date"),
    },
    c.SALES_SUMMARY: {
        c.PURCHASES: ("order_id", "customer_id", "quantity", "unit_price", "event_date", "category"),
    },
    c.PRODUCT_PERFORMANCE: {
        c.PAGE_VIEWS: ("customer_id", "product_id", "page_type", "event_date", "category"),
        c.PURCHASES: ("order_id", "customer_id", "product_id", "quantity", "unit_price", "event_date",
                      "category"),
    },
}


def _kept_columns(classified: DataFrame, name: str, tables) -> list[str]:
    """The columns of `classified` (silver `name`) that the gold `tables` read, plus the reason;
    all of them when `tables` is None."""
    if tables is None:
        return classified.columns
    read = {col for t in tables for col in COLUMNS_READ[t].get(name, ())}
    return [col for col in classified.columns if col in read or col == validity.REASON]


def load_inputs(spark: SparkSession, table: str, start: dt.date, end: dt.date,
                catalog: str = c.CATALOG, keep_for=None) -> GoldInputs:
    """Read the silver `table` needs for [start, end], split valid rows from rejected ones.

    `keep_for`: the gold tables the valid rows will serve (`run_gold_job`: the one table;
    `runner`: all of a batch's tables). Only the columns their builds and checks read
    (COLUMNS_READ) are stored in the checkpoint, so the duplicate rule's shuffle carries no
    `category` for customer analytics and the checkpoint holds no `event_id`/`event_time`: the
    rule itself still sees every column (it runs below the projection), so the kept row is the
    same. None (a notebook browsing its inputs) keeps every column.

    Spark actions: one summary of both silver fact tables (rejections by date and reason, and
    which dates have rows at all, which is how a missing date is found without a scan of its own)
    and of the products' row count; it also fills the fact tables' checkpoints (`_materialize`),
    which the build and the checks read. (Adaptive execution runs each table's shuffle stages
    below its checkpoint when the checkpoint is declared.)
    """
    if table not in c.GOLD_TABLES:
        raise ValueError(f"unknown gold table {table!r}; expected one of {', '.join(c.GOLD_TABLES)}")
    began = time.monotonic()
    io.dates_between(start, end)
    # Its emptiness is checked with the facts' summary below (no probe job of its own).
    products = io.read_silver(spark, c.PRODUCTS, catalog=catalog, allow_missing=True)
    # One product dimension (its scan and window) for both fact tables, not one per table.
    dimension = _materialize(validity.product_dimension(products))
    needs_views = table != c.SALES_SUMMARY
    facts = []
    if needs_views:
        facts.append((c.PAGE_VIEWS, validity.classify_page_views))
    facts.append((c.PURCHASES, validity.classify_purchases))

    valid, summaries = {}, []
    for name, classify in facts:
        df = io.read_silver(spark, name, start, end, catalog, allow_missing=True)  # dates checked below
        classified = classify(df, products, dimension)
        classified = _materialize(classified.select(*_kept_columns(classified, name, keep_for)))
        valid[name], _ = validity.split(classified)
        summaries.append(classified.groupBy("event_date", F.col(validity.REASON).alias("reason"))
                         .agg(F.count(F.lit(1)).alias("rows")).withColumn("table", F.lit(name)))
    summary = products.agg(F.count(F.lit(1)).alias("rows")).select(
        F.lit(None).cast("date").alias("event_date"), F.lit(None).cast("string").alias("reason"), "rows",
        F.lit(c.PRODUCTS).alias("table"))
    for other in summaries:
        summary = summary.unionByName(other)
    # One small action for all: (table, date, reason|null, rows), products as one count.
    found = summary.collect()

    if not sum(int(r["rows"]) for r in found if r["table"] == c.PRODUCTS):
        raise io.MissingSilverDataError(f"{c.PRODUCTS} has no rows; generate or load silver first")
    rejected, by_date = {}, {}
    for name, _ in facts:
        rows = [r for r in found if r["table"] == name]
        io.require_dates(name, start, end, {r["event_date"] for r in rows})
        # Per date (each partition reports its own) with a 0 for every reason and date; totals.
        per_date = {d.isoformat(): dict.fromkeys(c.REASONS[name], 0) for d in io.dates_between(start, end)}
        for r in rows:
            if r["reason"] is not None:
                day = per_date.setdefault(r["event_date"].isoformat(), dict.fromkeys(c.REASONS[name], 0))
                day[r["reason"]] = day.get(r["reason"], 0) + int(r["rows"])
        by_date[name] = per_date
        totals = dict.fromkeys(c.REASONS[name], 0)
        for day in per_date.values():
            for reason, n in day.items():
                totals[reason] = totals.get(reason, 0) + n
        rejected[name] = totals

    prev_valid = previous_day_purchases(spark, start, catalog, products) if table == c.SALES_SUMMARY else None
    return GoldInputs(table, start, end, catalog, valid, rejected, prev_valid, began, by_date)


def previous_day_purchases(spark: SparkSession, start: dt.date, catalog: str = c.CATALOG,
                           products: DataFrame | None = None) -> DataFrame:
    """Valid purchase lines of start - 1 day (may be empty): the sales summary's day-over-day base."""
    products = io.read_silver(spark, c.PRODUCTS, catalog=catalog) if products is None else products
    prev_day = start - dt.timedelta(days=1)
    prev = io.read_silver(spark, c.PURCHASES, prev_day, prev_day, catalog, allow_missing=True)
    return validity.clean_purchases(prev, products)[0]


def build(inputs: GoldInputs) -> DataFrame:
    """The gold DataFrame of `inputs.table` (lazy; nothing is written)."""
    if inputs.table == c.CUSTOMER_ANALYTICS:
        return gold.build_customer_analytics(inputs.page_views, inputs.purchases)
    if inputs.table == c.SALES_SUMMARY:
        prev = inputs.prev_purchases
        if prev is not None:  # the same columns as the (possibly narrowed) purchases it is unioned with
            prev = prev.select(*inputs.purchases.columns)
        return gold.build_sales_summary(inputs.purchases, prev)
    return gold.build_product_performance(inputs.page_views, inputs.purchases)


STATS = "_stats"


def write_and_check(spark: SparkSession, inputs: GoldInputs, df: DataFrame) -> JobResult:
    """Replace [start, end] of the gold table with `df` atomically, then check what was committed."""
    table, start, end, catalog = inputs.table, inputs.start, inputs.end, inputs.catalog
    snapshot_id = io.write_gold(spark, df, table, start, end, catalog)
    # Check exactly what this run committed, even if another writer commits right after.
    written = io.read_gold(spark, table, start, end, catalog, snapshot_id)
    if table == c.CUSTOMER_ANALYTICS:
        plans = checks.plans_customer_analytics(written, inputs.page_views, inputs.purchases)
    elif table == c.SALES_SUMMARY:
        plans = checks.plans_sales_summary(written, inputs.purchases)
    else:
        plans = checks.plans_product_performance(written)
    # Rows and revenue per date ride along: the checks and the stats are ONE Spark action.
    per_date_stats = written.groupBy(c.GOLD_DATE_COLUMN).agg(
        F.count(F.lit(1)).alias("rows"), F.sum("revenue").alias("revenue"))
    done = checks.run_plans({**plans, STATS: checks.Plan(per_date_stats, lambda rows: rows)})
    per_date = {d.isoformat(): {"rows": 0, "revenue": Decimal("0.00")} for d in io.dates_between(start, end)}
    for row in done.pop(STATS):
        per_date[row[c.GOLD_DATE_COLUMN].isoformat()] = {
            "rows": int(row["rows"]), "revenue": row["revenue"] if row["revenue"] is not None else Decimal("0.00")}
    results = list(done.values())

    return JobResult(
        table=table, start=start, end=end, rows=sum(d["rows"] for d in per_date.values()),
        revenue=sum((d["revenue"] for d in per_date.values()), Decimal("0.00")),
        snapshot_id=snapshot_id, rejected=inputs.rejected, checks=results,
        duration_s=round(time.monotonic() - inputs.began, 3),
        by_date=per_date, rejected_by_date=inputs.rejected_by_date,
    )


def run_gold_job(spark: SparkSession, table: str, start: dt.date, end: dt.date,
                 catalog: str = c.CATALOG) -> JobResult:
    """read silver -> validate -> build gold -> write [start, end] atomically -> checks."""
    inputs = load_inputs(spark, table, start, end, catalog, keep_for=(table,))
    return write_and_check(spark, inputs, build(inputs))
