"""Reading silver and writing Iceberg tables of the contract (create if missing, atomic overwrite)."""

import datetime as dt
import uuid

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException

from . import contract as c

WRITE_ID_PROPERTY = "lakehouse.write-id"


class MissingSilverDataError(ValueError):
    """Silver has no rows for a requested table/date: gold must not be built from a gap."""


class CatalogBusyError(RuntimeError):
    """The single-writer SQLite catalog was locked by another writer when this job committed."""


_BUSY_MARKERS = ("SQLITE_BUSY", "database is locked")


def _busy_code(exc: BaseException) -> str | None:
    text = str(exc)
    for marker in ("SQLITE_BUSY_SNAPSHOT", *_BUSY_MARKERS):
        if marker in text:
            return marker
    return None


def _cause_line(exc: BaseException, code: str) -> str:
    """The original error's telling line: the one naming the busy code (py4j's first line is only
    "An error occurred while calling ..."), else its first non-empty line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return next((line for line in lines if code in line), lines[0] if lines else type(exc).__name__)[:300]


def dates_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every date in [start, end] (inclusive); ValueError when start > end."""
    if start > end:
        raise ValueError(f"start date {start} is after end date {end}")
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def _table(spark: SparkSession, table: str, catalog: str) -> DataFrame:
    try:
        return spark.table(c.qualified(table, catalog))
    except AnalysisException as exc:
        if "TABLE_OR_VIEW_NOT_FOUND" in str(exc) or "not found" in str(exc).lower():
            raise MissingSilverDataError(
                f"{table} does not exist in catalog {catalog}; generate or load silver first"
            ) from exc
        raise


def read_silver(
    spark: SparkSession,
    table: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    catalog: str = c.CATALOG,
    allow_missing: bool = False,
) -> DataFrame:
    """Silver rows of `table` for [start, end] (products: the whole snapshot).

    Raises MissingSilverDataError naming the table and every requested date without rows, unless
    allow_missing (used for the optional previous day of the sales summary).
    """
    df = _table(spark, table, catalog)
    column = c.PARTITION_COLUMN[table]
    if column is None:
        if not allow_missing and df.limit(1).count() == 0:
            raise MissingSilverDataError(f"{table} has no rows; generate or load silver first")
        return df
    if start is None or end is None:
        raise ValueError(f"{table} is partitioned by {column}: pass start and end dates")
    df = df.where(F.col(column).between(F.lit(start), F.lit(end)))
    if not allow_missing:
        require_dates(table, start, end, {row[0] for row in df.select(column).distinct().collect()})
    return df


def require_dates(table: str, start: dt.date, end: dt.date, present) -> None:
    """MissingSilverDataError naming `table` and every date of [start, end] not in `present`.

    The gold pipeline calls it with the dates it found while classifying (no scan of its own)."""
    missing = [d.isoformat() for d in dates_between(start, end) if d not in present]
    if missing:
        raise MissingSilverDataError(
            f"{table} has no rows for {', '.join(missing)} ({c.PARTITION_COLUMN[table]}); "
            "generate or load silver for that date first"
        )


def ensure_table(spark: SparkSession, table: str, catalog: str = c.CATALOG) -> str:
    """Create the namespace and the Iceberg table (contract schema and partitioning) if missing."""
    name = c.qualified(table, catalog)
    if spark.catalog.tableExists(name):  # one catalog round trip instead of two DDL statements
        return name
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {catalog}.{table.split('.')[0]}")
    columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in c.SCHEMAS[table])
    column = c.PARTITION_COLUMN[table]
    partitioned = f" PARTITIONED BY (`{column}`)" if column else ""
    spark.sql(f"CREATE TABLE IF NOT EXISTS {name} ({columns}) USING iceberg{partitioned}")
    return name


def write_table(
    spark: SparkSession,
    df: DataFrame,
    table: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    catalog: str = c.CATALOG,
) -> int | None:
    """Atomically replace rows of [start, end] (the whole table if unpartitioned) with `df`.

    One Iceberg commit (overwrite by filter on the identity partition), so readers see the old or
    the new dates, never a mix, and reruns are idempotent. Returns the new snapshot id.
    """
    name = ensure_table(spark, table, catalog)
    column = c.PARTITION_COLUMN[table]
    write_id = uuid.uuid4().hex
    writer = c.conform(df, table).writeTo(name).option(f"snapshot-property.{WRITE_ID_PROPERTY}", write_id)
    if column is None:
        writer.overwrite(F.lit(True))
    else:
        dates_between(start, end)  # validates the range
        writer.overwrite(F.col(column).between(F.lit(start), F.lit(end)))
    return committed_snapshot(spark, name, write_id)


def committed_snapshot(spark: SparkSession, name: str, write_id: str) -> int | None:
    """The id of the snapshot whose summary carries `write_id`, from the Iceberg table's own
    metadata (Java API: no Spark job, unlike a query of the `.snapshots` metadata table). Newest
    first along the parent chain, so the search usually stops at the current snapshot; then every
    snapshot (our commit is found even if another writer committed or rolled back right after)."""
    table = spark._jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(spark._jsparkSession, name)

    def ours(snap) -> bool:
        return snap.summary().get(WRITE_ID_PROPERTY) == write_id

    snap = table.currentSnapshot()
    while snap is not None:
        if ours(snap):
            return int(snap.snapshotId())
        parent = snap.parentId()
        snap = None if parent is None else table.snapshot(parent)
    table.refresh()
    return next((int(s.snapshotId()) for s in table.snapshots() if ours(s)), None)


def write_gold(spark: SparkSession, df: DataFrame, table: str, start: dt.date, end: dt.date,
               catalog: str = c.CATALOG) -> int | None:
    """Replace exactly the dates [start, end] of gold `table` with `df`; returns the snapshot id."""
    if table not in c.GOLD_TABLES:
        raise ValueError(f"{table} is not a gold table ({', '.join(c.GOLD_TABLES)})")
    try:
        return write_table(spark, df, table, start, end, catalog)
    except Exception as exc:
        code = _busy_code(exc)
        if code is None:
            raise
        # The raw JDBC text names neither the table nor the cause: say both, and what to do.
        uri = spark.conf.get(f"spark.sql.catalog.{catalog}.uri", "?")
        raise CatalogBusyError(
            f"could not commit {table} for {start}..{end}: catalog {catalog} ({uri}) is locked by another writer "
            f"({code}). The SQLite catalog allows one writer at a time and this commit waited out its "
            "busy_timeout (spark.sql.catalog.<name>.jdbc.busy_timeout). Another Spark driver was "
            "committing: run lakehouse jobs through the Dagster `livy` pool (limit 1), or use the "
            "PostgreSQL catalog when writers must run concurrently. Rerun the dates (reruns are idempotent). "
            f"Original error: {_cause_line(exc, code)}"
        ) from exc  # this message stays the driver's last (exception) line; the Java trace precedes it


def read_gold(spark: SparkSession, table: str, start: dt.date, end: dt.date,
              catalog: str = c.CATALOG, snapshot_id: int | None = None) -> DataFrame:
    """Gold rows of [start, end], optionally as of a snapshot (what a given run committed)."""
    name = c.qualified(table, catalog)
    version = "" if snapshot_id is None else f" VERSION AS OF {int(snapshot_id)}"
    df = spark.sql(f"SELECT * FROM {name}{version}")
    return df.where(F.col(c.GOLD_DATE_COLUMN).between(F.lit(start), F.lit(end)))
