"""Section 8: one day of the three gold tables in ONE Livy batch against three batches.

One side: `silver_to_gold_processing` for the date - the gold multi-asset, all three tables in one
run and one Livy batch (batch_gold.py: one silver read and validation feeding the three writes and
their checks). Other side: the same three tables as three runs of one table each (three Livy batches,
each paying spark-submit + JVM + SparkSession start + silver read + validation) - what a day cost
before the multi-asset. Interleaved, order alternating per pair, on the same silver; the rows each
side writes must be equal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bench.context import Context
from bench.report import fmt, median, progress
from bench.runs import QUIET_LOGGERS, generate_silver
from bench.stack import wait_quiet
from dagster_livy.lakehouse.testing import materialization_metadata

DATE = "2025-03-06"
GOAL = 2.0  # three batches / one batch, ratio of medians


@dataclass
class Side:
    wall_s: float = 0.0
    success: bool = True
    batches: set = field(default_factory=set)
    rows: dict = field(default_factory=dict)        # table -> rows of the date
    batch_s: list = field(default_factory=list)     # livy_duration_s per batch
    mats: int = 0                                   # asset materializations
    checks: list = field(default_factory=lambda: [0, 0])  # asset checks passed, evaluated
    error: str | None = None


def _collect(side: Side, result) -> None:
    side.success &= result.success
    side.mats += sum(1 for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION")
    evaluations = result.get_asset_check_evaluations()
    side.checks[0] += sum(c.passed for c in evaluations)
    side.checks[1] += len(evaluations)
    for table, md in materialization_metadata(result.all_events):
        side.rows[table] = md["dagster/row_count"]
        name = md["livy_batch_name"]
        if name not in side.batches:
            side.batches.add(name)
            side.batch_s.append(md["livy_duration_s"])
    if not result.success and side.error is None:
        failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        side.error = str(failures[0].step_failure_data.error.message)[:160] if failures else "failed"


def one_batch(ctx: Context, date: str) -> Side:
    side, began = Side(), time.monotonic()
    _collect(side, ctx.job("silver_to_gold_processing").execute_in_process(
        partition_key=date, instance=ctx.instance, raise_on_error=False, run_config=QUIET_LOGGERS))
    side.wall_s = time.monotonic() - began
    return side


def three_batches(ctx: Context, date: str) -> Side:
    import dagster as dg

    from dagster_livy.lakehouse.assets import GOLD, GOLD_KEYS, SILVER
    from dagster_livy.lakehouse.settings import build_resources

    side, began = Side(), time.monotonic()
    for key in GOLD_KEYS.values():  # one run, one table, one batch each
        _collect(side, dg.materialize([*SILVER, *GOLD], selection=[key], partition_key=date, instance=ctx.instance,
                                      resources=build_resources(), raise_on_error=False, run_config=QUIET_LOGGERS))
    side.wall_s = time.monotonic() - began
    return side


def pairs_wanted(args) -> int:
    return 1 if args.quick else min(args.runs, 3)


def run_pair(ctx: Context, date: str, i: int, after_one=None) -> tuple:
    """Pair i (from 0) on `date`, the order alternating with i; `after_one()` runs right after the
    one-batch side (section 7 reads the gold that one-day run wrote before the other side rewrites it)."""
    order = ("one", "three") if i % 2 == 0 else ("three", "one")
    got = {}
    for which in order:
        wait_quiet(ctx.args.quiet_wait)
        progress(f"pair {i + 1}: {'one batch (silver_to_gold_processing)' if which == 'one' else 'three batches'} [{date}] ...")
        got[which] = one_batch(ctx, date) if which == "one" else three_batches(ctx, date)
        progress(f"  {got[which].wall_s:.1f}s, {len(got[which].batches)} batch(es)"
                 + ("" if got[which].success else f" FAILED: {got[which].error}"))
        if which == "one" and after_one is not None:
            after_one()
    return (i + 1, "1,3" if order[0] == "one" else "3,1", got["one"], got["three"], date)


def run(ctx: Context) -> None:
    args = ctx.args
    pairs_n = pairs_wanted(args)
    shared = ctx.results.get("onebatch_pairs")
    if shared:
        # Section 7 ran the pairs on its first dates: the one-batch side is that date's one-day run
        # (the same job, partition and silver), counted there too.
        pairs = shared
        dates = [p[4] for p in pairs]
        where = f"{dates[0]}..{dates[-1]}, one date per pair"
        data = (f"data: section 7's silver ({args.page_views:,} page views/day); the one-batch side of each pair is "
                "section 7's one-day run of that date, the three-batch side ran right before or after it")
    else:
        # The silver section 1 (or 3, 5) generated serves here too (the same size and seed): one
        # generation batch less per run. Alone, this section generates its own date.
        silver = ctx.results.get("silver_20k")
        date = ctx.dates["gold"] if silver is not None else DATE
        if silver is None:
            progress(f"section 8: silver for {date} ({args.page_views:,} page views/day) through Livy ...")
            silver = generate_silver(ctx.stack, date, args.page_views, seed=args.seed, dirty_share=args.dirty_share,
                                     max_wait_s=ctx.budget_s)
            if silver.error:
                raise RuntimeError(f"silver generation failed: {silver.error}")
        pairs = [run_pair(ctx, date, i) for i in range(pairs_n)]
        where = date
        data = (f"data: silver {date}: {silver.counts.get('silver.page_views', 0):,} page views, "
                f"{silver.counts.get('silver.purchases', 0):,} purchase lines")
    pairs_n = len(pairs)

    ok = [(o, t) for _, _, o, t, _ in pairs if o.success and t.success]
    med_one, med_three = median(o.wall_s for o, _ in ok), median(t.wall_s for _, t in ok)
    ratio = med_three / med_one if med_one and med_three else None
    same_rows = all(o.rows == t.rows for o, t in ok) and bool(ok)
    rows = [[str(n), order, fmt(o.wall_s), str(len(o.batches)), fmt(sum(o.batch_s)), fmt(t.wall_s),
             str(len(t.batches)), fmt(sum(t.batch_s)), fmt(t.wall_s / o.wall_s if o.wall_s else None, 2),
             "ok" if o.success and t.success else f"FAILED: {(o.error or t.error or '')[:60]}"]
            for n, order, o, t, _ in pairs]
    rows.append(["---"])
    rows.append([f"median of {len(ok)}", "", fmt(med_one), "", "", fmt(med_three), "", "", fmt(ratio, 2), ""])
    verdict = "-" if ratio is None else ("MET" if ratio >= GOAL else "NOT MET")
    first = ok[0][0].rows if ok else {}
    ctx.results["onebatch"] = {"one_s": med_one, "three_s": med_three, "ratio": ratio}
    ctx.report.table(
        f"8. One day of the three gold tables [{where}]: one Livy batch (multi-asset) vs three batches "
        f"(interleaved, N={pairs_n})",
        ["pair", "order", "one wall s", "batches", "livy s", "three wall s", "batches", "livy s", "ratio 3/1", "status"],
        rows,
        [f"{data}; rows per table {first}",
         f"ratio of medians three batches / one batch = {fmt(ratio, 2)}  (goal >= {GOAL:.1f}: {verdict}); "
         f"rows equal on both sides in every pair: {'yes' if same_rows else 'NO'}",
         "one = silver_to_gold_processing (1 run, 1 batch); three = one run per table (dg.materialize of one "
         "gold key each: 3 runs, 3 batches); livy s = sum of livy_duration_s over the side's batches"])
