"""Section 7: a 7-day backfill (one batch per asset for the range) against 7 one-day runs."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from bench.context import Context
from bench.report import fmt, fmt_int, progress
from bench.runs import QUIET_LOGGERS, generate_silver
from bench.stack import wait_quiet

GOAL = 3.0
DAYS = 7


def gold_rows(catalog, tables: list[str], dates: list[str]) -> dict[str, tuple[list[tuple], Decimal]]:
    """Every gold row of the dates per table, sorted (what 'the rows equal' compares), and their revenue."""
    from pyiceberg.expressions import And, GreaterThanOrEqual, LessThanOrEqual

    out = {}
    for table in tables:
        scan = catalog.load_table(table).scan(row_filter=And(GreaterThanOrEqual("date", dates[0]),
                                                             LessThanOrEqual("date", dates[-1])))
        arrow = scan.to_arrow()
        cols = arrow.to_pydict()
        revenue = list(cols).index("revenue")
        rows = sorted(zip(*cols.values()), key=_row_key)
        out[table] = (rows, sum((r[revenue] or Decimal(0) for r in rows), Decimal(0)))
    return out


def _row_key(r: tuple) -> tuple:
    return tuple((v is not None, str(v)) for v in r)


def merge_rows(parts: list[dict]) -> dict[str, tuple[list[tuple], Decimal]]:
    """gold_rows of single dates joined: what gold_rows of all of them at once returns."""
    out: dict[str, tuple[list[tuple], Decimal]] = {}
    for part in parts:
        for table, (rows, revenue) in part.items():
            had, total = out.get(table, ([], Decimal(0)))
            out[table] = (had + rows, total + revenue)
    return {t: (sorted(rows, key=_row_key), revenue) for t, (rows, revenue) in out.items()}


def run(ctx: Context) -> None:
    from dagster_livy.lakehouse.settings import LakehouseSettings

    args = ctx.args
    start = dt.date.fromisoformat(ctx.dates["backfill"])
    dates = [(start + dt.timedelta(days=i)).isoformat() for i in range(DAYS)]
    job_name = "customer_analytics_processing" if args.quick else "silver_to_gold_processing"
    job = ctx.job(job_name)
    from lakehouse_jobs import contract as c

    tables = list(c.GOLD_TABLES) if job_name == "silver_to_gold_processing" else [c.CUSTOMER_ANALYTICS]
    progress(f"section 7: silver for {dates[0]}..{dates[-1]} ({fmt_int(args.page_views)} page views/day) ...")
    silver = generate_silver(ctx.stack, dates[0], args.page_views, seed=args.seed, dirty_share=args.dirty_share,
                             max_wait_s=ctx.budget_s, end=dates[-1])
    if silver.error:
        raise RuntimeError(f"silver generation for {dates[0]}..{dates[-1]} failed: {silver.error}")

    def execute(tags: dict | None, partition_key: str | None):
        began = time.monotonic()
        result = job.execute_in_process(instance=ctx.instance, raise_on_error=False, run_config=QUIET_LOGGERS,
                                        **({"partition_key": partition_key} if partition_key else {}),
                                        **({"tags": tags} if tags else {}))
        batches = sum(1 for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION")
        checks = result.get_asset_check_evaluations()
        return time.monotonic() - began, result.success, batches, sum(c.passed for c in checks), len(checks)

    settings = LakehouseSettings.from_env()
    catalog = settings.catalog()
    # With section 8 selected, its pairs run on the first dates here: a pair's one-batch side IS that
    # date's one-day run (silver_to_gold_processing, one partition). Its gold is read right after it,
    # before the pair's three-batch side rewrites the date (bench/README.md "Budget").
    from bench import onebatch

    paired = (onebatch.pairs_wanted(args) if 8 in args.sections and job_name == "silver_to_gold_processing"
              else 0)
    pairs, per_date = [], []
    rows, singles_s, single_ok, single_checks = [], 0.0, True, [0, 0]
    for k, d in enumerate(dates):
        if k < paired:
            progress(f"  one-day run {job_name} [{d}], paired with section 8's three batches ...")
            pair = onebatch.run_pair(ctx, d, k, after_one=lambda d=d: per_date.append(gold_rows(catalog, tables, [d])))
            pairs.append(pair)
            one = pair[2]
            s, ok, mats, (passed, total) = one.wall_s, one.success, one.mats, one.checks
        else:
            wait_quiet(min(args.quiet_wait, 5))
            progress(f"  one-day run {job_name} [{d}] ...")
            s, ok, mats, passed, total = execute(None, d)
            if paired:
                per_date.append(gold_rows(catalog, tables, [d]))
        progress(f"    {s:.1f}s" + ("" if ok else " FAILED"))
        singles_s += s
        single_ok &= ok
        single_checks[0] += passed
        single_checks[1] += total
        rows.append([f"one day {d}", "1", fmt(s), str(mats), f"{passed}/{total}", "ok" if ok else "FAILED"])
    if pairs:
        ctx.results["onebatch_pairs"] = pairs
    after_singles = merge_rows(per_date) if paired else gold_rows(catalog, tables, dates)

    wait_quiet(args.quiet_wait)
    progress(f"  backfill {job_name} [{dates[0]}...{dates[-1]}] (one run, the assets' BackfillPolicy.single_run) ...")
    tags = {"dagster/asset_partition_range_start": dates[0], "dagster/asset_partition_range_end": dates[-1]}
    range_s, range_ok, mats, passed, total = execute(tags, None)
    progress(f"    {range_s:.1f}s" + ("" if range_ok else " FAILED"))
    rows.append(["---"])
    rows.append([f"7 one-day runs (sum)", str(DAYS), fmt(singles_s), "", f"{single_checks[0]}/{single_checks[1]}",
                 "ok" if single_ok else "FAILED"])
    rows.append([f"one backfill run {dates[0]}..{dates[-1]}", "1", fmt(range_s), str(mats), f"{passed}/{total}",
                 "ok" if range_ok else "FAILED"])
    after_range = gold_rows(catalog, tables, dates)
    equal = after_singles == after_range
    counts = {t: len(r) for t, (r, _) in after_range.items()}
    revenue = {t: v for t, (_, v) in after_range.items()}
    speedup = singles_s / range_s if range_ok and single_ok and range_s else None
    verdict = "-" if speedup is None else ("MET" if speedup >= GOAL and equal else "NOT MET")
    ctx.results["backfill"] = {"singles_s": singles_s, "range_s": range_s, "speedup": speedup, "equal": equal,
                               "job": job_name}
    ctx.report.table(
        f"7. Backfill: {job_name} over {DAYS} days ({fmt_int(args.page_views)} page views/day), one range run vs "
        f"{DAYS} one-day runs",
        ["run", "runs", "wall s", "materializations", "checks", "status"], rows,
        [f"speed-up = 7 one-day runs / one backfill run = {fmt(speedup, 2)}  (goal >= {GOAL:g} with equal rows: {verdict})",
         f"gold rows after the 7 one-day runs == after the backfill run: {'EQUAL' if equal else 'DIFFERENT'} "
         f"(every column of every row of {', '.join(tables)} for the 7 dates, read back through pyiceberg; rows "
         + ", ".join(f"{t} {fmt_int(n)}" for t, n in counts.items()) + "; revenue "
         + ", ".join(f"{t} {v}" for t, v in revenue.items()) + ")",
         "the backfill run is one Dagster run with the partition range tags (what a Dagster backfill launches for "
         "assets with BackfillPolicy.single_run): one Livy batch per asset reads, validates, writes and checks all 7 "
         "dates; each one-day run pays its own batch (spark-submit JVM, session, catalog) per asset"])
