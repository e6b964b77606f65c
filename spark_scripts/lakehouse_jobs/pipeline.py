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
    """
    return df.localCheckpoint(eager=True)


def load_inputs(spark: SparkSession, table: str, start: dt.date, end: dt.date,
                catalog: str = c.CATALOG) -> GoldInputs:
    """Read the silver `table` needs for [start, end], split valid rows from rejected ones."""
    if table not in c.GOLD_TABLES:
        raise ValueError(f"unknown gold table {table!r}; expected one of {', '.join(c.GOLD_TABLES)}")
    began = time.monotonic()
    io.dates_between(start, end)
    products = io.read_silver(spark, c.PRODUCTS, catalog=catalog)
    needs_views = table != c.SALES_SUMMARY
    pv = io.read_silver(spark, c.PAGE_VIEWS, start, end, catalog) if needs_views else None
    pu = io.read_silver(spark, c.PURCHASES, start, end, catalog)

    rejected, valid, by_date = {}, {}, {}
    for name, df, classify in ((c.PAGE_VIEWS, pv, validity.classify_page_views),
                               (c.PURCHASES, pu, validity.classify_purchases)):
        if df is None:
            continue
        classified = _materialize(classify(df, products))
        valid[name], counts = validity.split(classified)
        rejected[name], by_date[name] = _rejections(counts, name, start, end)

    prev_valid = previous_day_purchases(spark, start, catalog, products) if table == c.SALES_SUMMARY else None
    return GoldInputs(table, start, end, catalog, valid, rejected, prev_valid, began, by_date)


def _rejections(counts: DataFrame, table: str, start: dt.date, end: dt.date
                ) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """validity.split's counts (event_date, reason, rows) -> ({reason: rows}, {date: {reason: rows}}),
    with a 0 for every reason of `table` and every date of [start, end]. One collect."""
    per_date = {d.isoformat(): dict.fromkeys(c.REASONS[table], 0) for d in io.dates_between(start, end)}
    for row in counts.collect():
        per_date.setdefault(row["event_date"].isoformat(), dict.fromkeys(c.REASONS[table], 0))[row["reason"]] += int(row["rows"])
    totals = {reason: sum(day[reason] for day in per_date.values()) for reason in c.REASONS[table]}
    return totals, per_date


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
        return gold.build_sales_summary(inputs.purchases, inputs.prev_purchases)
    return gold.build_product_performance(inputs.page_views, inputs.purchases)


def write_and_check(spark: SparkSession, inputs: GoldInputs, df: DataFrame) -> JobResult:
    """Replace [start, end] of the gold table with `df` atomically, then check what was committed."""
    table, start, end, catalog = inputs.table, inputs.start, inputs.end, inputs.catalog
    snapshot_id = io.write_gold(spark, df, table, start, end, catalog)
    # Check exactly what this run committed, even if another writer commits right after.
    written = _materialize(io.read_gold(spark, table, start, end, catalog, snapshot_id))
    # Rows and revenue per date (one small action); the totals are their sums.
    per_date = {d.isoformat(): {"rows": 0, "revenue": Decimal("0.00")} for d in io.dates_between(start, end)}
    for row in written.groupBy(c.GOLD_DATE_COLUMN).agg(
            F.count(F.lit(1)).alias("rows"), F.sum("revenue").alias("revenue")).collect():
        per_date[row[c.GOLD_DATE_COLUMN].isoformat()] = {
            "rows": int(row["rows"]), "revenue": row["revenue"] if row["revenue"] is not None else Decimal("0.00")}
    if table == c.CUSTOMER_ANALYTICS:
        results = checks.check_customer_analytics(written, inputs.page_views, inputs.purchases)
    elif table == c.SALES_SUMMARY:
        results = checks.check_sales_summary(written, inputs.purchases)
    else:
        results = checks.check_product_performance(written)

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
    inputs = load_inputs(spark, table, start, end, catalog)
    return write_and_check(spark, inputs, build(inputs))
