"""Entry points of the Spark scripts: open Dagster Pipes, start Spark, run, report.

    batch_gold.py            main_gold_tables()        the selected gold tables, one silver read
    <single gold script>     main_gold(TABLE)          one gold table
    generate_silver.py       main_generate()

Arguments: `args` (dates, catalog, --tables). The gold tables: `runner` on `pipeline`. What Dagster
and the log hear: `reporting`. Without Pipes arguments `pipes` is a no-op (NoPipes), so the
scripts also run under plain spark-submit; dagster_pipes is imported lazily. A script that owns
its Spark session starts `parentwatch.watch_parent`: a deleted batch ends its driver too.
"""

import logging
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from . import contract as c
from . import io, reporting, runner, silver
from .parentwatch import watch_parent
from .args import (  # noqa: F401  (re-exported: tests, notebooks)
    PIPES_ARGS, add_tables_argument, build_parser, parse_args, parse_date, resolve_dates,
)
from .pipeline import JobResult, run_gold_job  # noqa: F401  (re-exported: scripts and notebooks)
from .progress import report_progress
from .reporting import materialization_metadata, spark_app_metadata, summary_line  # noqa: F401


STANDALONE_NOTICE = ("not launched by Dagster (no --dagster-pipes-context): nothing is reported to Dagster; "
                     "the results are in the summary line")


class NoPipes:
    """The `pipes` of a run Dagster did not launch (plain spark-submit, tests, bench): every report
    goes nowhere, progress goes to the `lakehouse_jobs` logger, the summary lines to stdout.
    Dagster's own no-op context (open_dagster_pipes without Pipes arguments) does the same but
    raises a Python warning, and running without Dagster is a supported use of these scripts, not
    a mistake: `_open_pipes` says so in one line instead (STANDALONE_NOTICE)."""

    log = logging.getLogger("lakehouse_jobs")

    def __enter__(self) -> "NoPipes":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def _nothing(self, *args, **kwargs) -> None:
        return None

    report_custom_message = report_asset_materialization = report_asset_check = _nothing


def _open_pipes():
    """Dagster Pipes when Dagster launched the script (--dagster-pipes-context), else NoPipes."""
    from dagster_pipes import PipesCliArgsParamsLoader, open_dagster_pipes

    loader = PipesCliArgsParamsLoader()
    if not loader.is_dagster_pipes_process():
        print(f"lakehouse_jobs: {STANDALONE_NOTICE}", flush=True)
        return NoPipes()
    return open_dagster_pipes(params_loader=loader)


def _gold(tables: list[str], args, spark: SparkSession | None) -> list[JobResult]:
    """THE gold main: Pipes open -> dates -> Spark -> each table built, then reported at once."""
    if spark is None:  # the script's own driver: end it if its spark-submit is killed (batch deleted)
        watch_parent()
    with _open_pipes() as pipes:
        start, end = resolve_dates(args, pipes)
        own = spark is None
        if own:
            spark = SparkSession.builder.getOrCreate()  # name/conf come from spark-submit (Livy)
        try:
            # Every gold run (one table or several) passes here: the one place for driver-side
            # progress reporting around the Spark work.
            with report_progress(spark, pipes):  # Spark job/stage progress in the Dagster log
                app = spark_app_metadata(spark)
                results = runner.run_gold_tables(spark, tables, start, end, args.catalog)
            # After the progress thread has stopped: the results are the only writer on the channel.
            for result in results:
                reporting.report_gold(pipes, result, app)
        finally:
            if own:
                spark.stop()
    return results


def main_gold(table: str, argv: list[str] | None = None, spark: SparkSession | None = None) -> JobResult:
    """Entry point of the three single-table gold scripts. A `spark` passed in is not stopped."""
    args = parse_args(build_parser(f"Build {table} for one date or a date range."), argv)
    return _gold([table], args, spark)[0]


def main_gold_tables(argv: list[str] | None = None, spark: SparkSession | None = None) -> list[JobResult]:
    """Entry point of batch_gold.py: the `--tables` (default all three) on one silver read."""
    parser = add_tables_argument(build_parser("Build gold tables for one date or a date range, one silver read."))
    args = parse_args(parser, argv)
    return _gold(args.tables, args, spark)


def main_generate(argv: list[str] | None = None, spark: SparkSession | None = None) -> dict:
    """Entry point of generate_silver.py; returns {table: snapshot id}."""
    parser = build_parser("Generate deterministic synthetic silver for a date range.")
    parser.add_argument("--page-views-per-day", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirty-share", type=float, default=0.0)
    args = parse_args(parser, argv)
    if spark is None:
        watch_parent()
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
        reporting.report_silver(pipes, snapshots, counts, common)
        print(f"SILVER dates={start}..{end} " + " ".join(f"{t}={n}" for t, n in counts.items())
              + f" duration_s={duration:.1f}", flush=True)
    return snapshots
