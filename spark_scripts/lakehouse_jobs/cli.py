"""Command-line runners for the Spark scripts: argument parsing, Dagster Pipes, reporting.

    <gold script> (--date YYYY-MM-DD | --start YYYY-MM-DD --end YYYY-MM-DD) [--catalog NAME]

Without dates, a Dagster Pipes partition key (range) is used. Without Pipes arguments the Pipes
context is a no-op, so the scripts also run under plain spark-submit. dagster_pipes is imported
lazily. The gold pipeline itself (`run_gold_job` and its stages) lives in `pipeline`.
"""

import argparse
import datetime as dt
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from . import io, silver
from . import contract as c
from .pipeline import JobResult, run_gold_job  # noqa: F401  (re-exported: scripts and notebooks)
from .progress import report_progress

PIPES_ARGS = ("--dagster-pipes-context", "--dagster-pipes-messages")


# ---------------------------------------------------------------------------------- results

def materialization_metadata(result: JobResult) -> dict:
    """Metadata of the gold asset's materialization (plain JSON values)."""
    meta = {
        "table": result.table,
        "dates": result.dates,
        "rows": result.rows,
        "revenue": float(result.revenue),
        "revenue_exact": str(result.revenue),
        "snapshot_id": str(result.snapshot_id) if result.snapshot_id is not None else "",
        "duration_s": result.duration_s,
        "rejected_rows": sum(sum(r.values()) for r in result.rejected.values()),
    }
    for table, counts in result.rejected.items():
        for reason, rows in counts.items():
            meta[f"rejected.{c.short_name(table)}.{reason}"] = rows
    return meta


def spark_app_metadata(spark: SparkSession) -> dict:
    """Where the job ran: the application id and master, from the driver itself. Livy reports an
    appId only on YARN/Kubernetes; on a standalone cluster this is the link to the master's and
    workers' records of the application (its executors)."""
    sc = spark.sparkContext
    meta = {"spark_application_id": sc.applicationId, "spark_master": sc.master}
    if sc.uiWebUrl:
        meta["spark_driver_ui"] = sc.uiWebUrl
    return meta


def summary_line(result: JobResult) -> str:
    passed = sum(1 for r in result.checks if r["passed"])
    failed = [r["check_name"] for r in result.checks if not r["passed"]]
    return (
        f"GOLD {result.table} dates={result.start}..{result.end} rows={result.rows} "
        f"revenue={result.revenue} rejected={materialization_metadata(result)['rejected_rows']} "
        f"snapshot_id={result.snapshot_id} checks={passed}/{len(result.checks)} passed"
        + (f" failed={','.join(failed)}" if failed else "")
        + f" duration_s={result.duration_s:.1f}"
    )


# ------------------------------------------------------------------------------------ args

def parse_date(value: str, what: str) -> dt.date:
    """Strict YYYY-MM-DD; the ValueError names `what` and the value."""
    try:
        if len(value) != 10 or value[4] != "-" or value[7] != "-":
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except (ValueError, TypeError):
        raise ValueError(f"invalid date {value!r} for {what} (expected YYYY-MM-DD)") from None


def _date_type(flag: str):
    def parse(value: str) -> dt.date:
        try:
            return parse_date(value, flag)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def build_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--date", type=_date_type("--date"), help="one UTC date, YYYY-MM-DD")
    parser.add_argument("--start", type=_date_type("--start"), help="first date (inclusive)")
    parser.add_argument("--end", type=_date_type("--end"), help="last date (inclusive)")
    parser.add_argument("--catalog", default=c.CATALOG, help="Spark catalog name (default: %(default)s)")
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """parse_known_args (Pipes adds its own arguments) plus date-combination checks."""
    args, unknown = parser.parse_known_args(argv)
    stray = [a for a in unknown if not a.startswith(PIPES_ARGS) and not _is_pipes_value(a, unknown)]
    if stray:
        print(f"warning: ignoring unknown arguments {stray}", file=sys.stderr)
    if args.date and (args.start or args.end):
        parser.error("use either --date or --start/--end, not both")
    if bool(args.start) != bool(args.end):
        parser.error("--start and --end must be given together")
    if args.date:
        args.start = args.end = args.date
    if args.start and args.start > args.end:
        parser.error(f"--start {args.start} is after --end {args.end}")
    return args


def _is_pipes_value(arg: str, unknown: list[str]) -> bool:
    i = unknown.index(arg)
    return i > 0 and unknown[i - 1] in PIPES_ARGS


def resolve_dates(args: argparse.Namespace, pipes) -> tuple[dt.date, dt.date]:
    """Dates from the command line, else from the Pipes partition key (range)."""
    if args.start:
        return args.start, args.end
    key_range = _pipes_partition_range(pipes)
    if key_range is None:
        raise SystemExit(
            "error: no date given: pass --date YYYY-MM-DD or --start/--end, "
            "or run as a partitioned Dagster asset"
        )
    try:
        start, end = (parse_date(key, "the Dagster partition key") for key in key_range)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    if start > end:
        raise SystemExit(f"error: partition key range start {start} is after end {end}")
    return start, end


def _pipes_partition_range(pipes) -> tuple[str, str] | None:
    """(start, end) partition keys of a real Pipes context, else None."""
    from dagster_pipes import DagsterPipesError, PipesContext

    if not isinstance(pipes, PipesContext):  # standalone: a no-op MagicMock
        return None
    try:
        if pipes.is_partition_step:
            key_range = pipes.partition_key_range
            return key_range["start"], key_range["end"]
    except DagsterPipesError:
        pass
    try:
        return pipes.partition_key, pipes.partition_key
    except DagsterPipesError:
        return None


def _open_pipes():
    from dagster_pipes import PipesCliArgsParamsLoader, open_dagster_pipes

    return open_dagster_pipes(params_loader=PipesCliArgsParamsLoader())


def _asset_key(pipes, table: str) -> str | None:
    """The Pipes asset key for `table` when several assets are in scope (None = the only one)."""
    from dagster_pipes import PipesContext

    if not isinstance(pipes, PipesContext):
        return None
    keys = list(pipes.asset_keys or [])
    if len(keys) <= 1:
        return None
    matches = [k for k in keys if k.rsplit("/", 1)[-1] in (c.short_name(table), table.replace(".", "_"))]
    return matches[0] if len(matches) == 1 else None


# ------------------------------------------------------------------------------ entry points

def main_gold(table: str, argv: list[str] | None = None, spark: SparkSession | None = None) -> JobResult:
    """Entry point of the three gold scripts. A `spark` passed in is not stopped."""
    args = parse_args(build_parser(f"Build {table} for one date or a date range."), argv)
    with _open_pipes() as pipes:
        start, end = resolve_dates(args, pipes)
        own = spark is None
        if own:
            spark = SparkSession.builder.getOrCreate()  # name/conf come from spark-submit (Livy)
        try:
            with report_progress(spark, pipes):  # Spark job/stage progress in the Dagster log
                app = spark_app_metadata(spark)
                result = run_gold_job(spark, table, start, end, args.catalog)
        finally:
            if own:
                spark.stop()
        key = _asset_key(pipes, table)
        pipes.report_asset_materialization(metadata={**materialization_metadata(result), **app}, asset_key=key)
        for check in result.checks:
            pipes.report_asset_check(
                check_name=check["check_name"], passed=check["passed"],
                severity=check["severity"], metadata=check["metadata"], asset_key=key,
            )
        print(summary_line(result), flush=True)
    return result


def main_generate(argv: list[str] | None = None, spark: SparkSession | None = None) -> dict:
    """Entry point of generate_silver.py; returns {table: snapshot id}."""
    parser = build_parser("Generate deterministic synthetic silver for a date range.")
    parser.add_argument("--page-views-per-day", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirty-share", type=float, default=0.0)
    args = parse_args(parser, argv)
    with _open_pipes() as pipes:
        start, end = resolve_dates(args, pipes)
        began = time.monotonic()
        own = spark is None
        if own:
            spark = SparkSession.builder.getOrCreate()
        try:
            snapshots = silver.generate_silver(
                spark, start, end, args.page_views_per_day, args.seed, args.dirty_share, args.catalog
            )
            counts = {
                t: spark.sql(f"SELECT * FROM {c.qualified(t, args.catalog)} VERSION AS OF {s}")
                .where(F.lit(True) if c.PARTITION_COLUMN[t] is None
                       else F.col(c.SILVER_DATE_COLUMN).between(F.lit(start), F.lit(end)))
                .count()
                for t, s in snapshots.items()
            }
        finally:
            if own:
                spark.stop()
        duration = round(time.monotonic() - began, 3)
        common = {"dates": [d.isoformat() for d in io.dates_between(start, end)], "seed": args.seed,
                  "page_views_per_day": args.page_views_per_day, "dirty_share": args.dirty_share,
                  "duration_s": duration}
        _report_silver(pipes, snapshots, counts, common)
        print(f"SILVER dates={start}..{end} " + " ".join(f"{t}={n}" for t, n in counts.items())
              + f" duration_s={duration:.1f}", flush=True)
    return snapshots


def _report_silver(pipes, snapshots: dict, counts: dict, common: dict) -> None:
    """One materialization per silver asset in scope, or one for all when a single asset is."""
    from dagster_pipes import PipesContext

    if not isinstance(pipes, PipesContext):
        return
    if len(pipes.asset_keys or []) <= 1:
        per_table = {f"{c.short_name(t)}.rows": n for t, n in counts.items()}
        per_table |= {f"{c.short_name(t)}.snapshot_id": str(s) for t, s in snapshots.items()}
        pipes.report_asset_materialization(metadata=per_table | common)
        return
    for table in c.SILVER_TABLES:
        key = _asset_key(pipes, table)
        if key is not None:
            meta = {"table": table, "rows": counts[table], "snapshot_id": str(snapshots[table])}
            pipes.report_asset_materialization(metadata=meta | common, asset_key=key)
