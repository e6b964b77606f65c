"""Section 5: one gold partition built by its notebook asset vs by its batch-script asset.

Same Livy, same date, same silver, one run: `gold/daily_customer_analytics` through its job
(`customer_analytics_processing`: Pipes, the spark_scripts batch) against
`notebook_prototypes/daily_customer_analytics` (papermill on the pyspark-livy kernel, a Livy
batch too), each materialized in process, interleaved (the order alternating when this section runs
alone; inside section 1's pairs the notebook runs last, after the script). Both write
the same Iceberg partition with the same lakehouse_jobs functions and run the same checks.
"""

from __future__ import annotations

import os
import time

import dagster as dg

from bench.context import Context
from bench.report import fmt, median, pct, progress
from bench.runs import QUIET_LOGGERS, JobRun, generate_silver, run_gold_job
from bench.stack import OthersCpu, wait_quiet

TABLE = "gold.daily_customer_analytics"


def run_notebook_asset(asset: dg.AssetsDefinition, instance: dg.DagsterInstance, date: str, *,
                       livy_pid: int | None) -> JobRun:
    """Materialize the notebook asset for `date` in process; wall time and its metadata."""
    began = time.monotonic()
    with OthersCpu([os.getpid(), livy_pid]) as others:
        result = dg.materialize([asset], partition_key=date, instance=instance, raise_on_error=False,
                                run_config=QUIET_LOGGERS)
    run = JobRun(wall_s=time.monotonic() - began, success=result.success, others=others.share)
    from dagster_livy.lakehouse.testing import materialization_metadata

    for _, md in materialization_metadata(result.all_events):
        run.spark_job_s = md.get("duration_s")  # papermill: kernel start + all cells + shutdown
        run.batch_name = md.get("livy_batch_name")
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE" and run.error is None:
            err = event.step_failure_data.error
            run.error = (err.message if err else "failed").strip().splitlines()[0][:200]
    return run


def prepare(ctx: Context) -> dg.AssetsDefinition:
    """The kernelspec installed, executed notebooks kept in the bench's run dir; the notebook asset."""
    from dagster_livy.jupyter.kernelspec import install
    from dagster_livy.lakehouse.notebooks import prototype_key

    install()
    # Executed notebooks are kept (the asset's contract): inside the bench's run dir, not .dagster/.
    os.environ["NOTEBOOK_OUTPUT_DIR"] = str(ctx.stack.run_dir / "bench-notebooks")
    return ctx.defs.resolve_assets_def(prototype_key(TABLE.split(".", 1)[1]))


def runs_wanted(args) -> int:
    return max(1, min(args.runs, 2 if args.quick else 3))  # each side is a whole Spark driver


def run_notebook(ctx: Context, nb_asset: dg.AssetsDefinition, date: str, label: str) -> JobRun:
    progress(f"section 5 run {label}: notebook asset notebook_prototypes/daily_customer_analytics [{date}] ...")
    began = time.monotonic()
    try:
        run = run_notebook_asset(nb_asset, ctx.instance, date, livy_pid=ctx.stack.server_pid())
    except Exception as exc:  # noqa: BLE001 - a failed notebook run is a row, not the end of section 1
        run = JobRun(wall_s=time.monotonic() - began, success=False, error=f"{type(exc).__name__}: {exc}"[:200])
    progress(f"  {run.wall_s:.1f}s" + ("" if run.success else f" FAILED: {run.error}"))
    return run


def run(ctx: Context) -> None:
    args, date = ctx.args, ctx.dates["gold"]
    runs = runs_wanted(args)
    pairs = ctx.results.get("notebook_pairs")
    shared = bool(pairs)
    silver = ctx.results.get("silver_20k")
    if not shared:
        nb_asset = prepare(ctx)
        if silver is None:
            progress(f"section 5: silver for {date} ({args.page_views:,} page views/day) through Livy ...")
            silver = generate_silver(ctx.stack, date, args.page_views, seed=args.seed,
                                     dirty_share=args.dirty_share, max_wait_s=ctx.budget_s)
            if silver.error:
                raise RuntimeError(f"silver generation failed: {silver.error}")
            ctx.results["silver_20k"] = silver
            progress(f"silver ready in {silver.wall_s:.1f}s: {silver.counts}")
        script_job = ctx.job("customer_analytics_processing")
        livy_pid = ctx.stack.server_pid()
        warmup = args.warmup and not args.quick
        sides = ("script", "notebook")
        pairs = []
        for i in range(runs + (1 if warmup else 0)):
            label = "warm-up" if warmup and i == 0 else str(i + (0 if warmup else 1))
            order = sides if i % 2 == 0 else tuple(reversed(sides))
            got = {}
            for which in order:
                wait_quiet(args.quiet_wait)
                if which == "script":
                    progress(f"section 5 run {label}: script asset gold/daily_customer_analytics [{date}] ...")
                    got[which] = run_gold_job(script_job, ctx.instance, date, livy_pid=livy_pid)
                    r = got[which]
                    progress(f"  {r.wall_s:.1f}s" + ("" if r.success else f" FAILED: {r.error}"))
                else:
                    got[which] = run_notebook(ctx, nb_asset, date, label)
            pairs.append((label, "S,N" if order[0] == "script" else "N,S", got["script"], got["notebook"]))
    runs = len([p for p in pairs if p[0] != "warm-up"])

    measured = [p for p in pairs if p[0] != "warm-up"]
    ok_s = [s for _, _, s, _ in measured if s.success]
    ok_n = [n for _, _, _, n in measured if n.success]
    s_wall, n_wall = median(s.wall_s for s in ok_s), median(n.wall_s for n in ok_n)
    ratio = n_wall / s_wall if s_wall and n_wall else None
    rows = []
    for label, order, s, n in pairs:
        r = n.wall_s / s.wall_s if s.success and n.success else None
        rows.append([label, order, pct(s.others) + "/" + pct(n.others), fmt(s.wall_s), fmt(s.livy_batch_s),
                     fmt(s.spark_job_s), s.checks, fmt(n.wall_s), fmt(n.spark_job_s), fmt(r, 3),
                     "ok" if s.success and n.success else f"FAILED: {(s.error or n.error or '')[:60]}"])
    rows.append(["---"])
    rows.append([f"median of {len(ok_s)}/{len(ok_n)}", "", "", fmt(s_wall), fmt(median(s.livy_batch_s for s in ok_s)),
                 fmt(median(s.spark_job_s for s in ok_s)), "", fmt(n_wall),
                 fmt(median(n.spark_job_s for n in ok_n)), fmt(ratio, 3), ""])
    ctx.report.table(
        f"5. One gold partition: {TABLE} [{date}], notebook asset vs batch-script asset "
        f"(interleaved, N={runs}{', quick' if args.quick else ''})",
        ["run", "order", "others% S/N", "script wall s", "livy batch s", "spark job s", "checks",
         "notebook wall s", "papermill s", "ratio N/S", "status"],
        rows,
        [f"ratio of medians notebook asset / script asset = {fmt(ratio, 3)}; median of the per-pair ratios "
         f"{fmt(median(n.wall_s / s.wall_s for _, _, s, n in measured if s.success and n.success), 3)}",
         f"data: silver {date}: {silver.counts.get('silver.page_views', '?')} page views, "
         f"{silver.counts.get('silver.purchases', '?')} purchase lines (same Livy, same partition overwritten by both)",
         "script = customer_analytics_processing.execute_in_process (Pipes; livy batch = submit -> end seen; "
         "spark job = read silver -> write gold -> checks, in the driver)",
         "notebook = dg.materialize(notebook_prototypes/daily_customer_analytics) (papermill on pyspark-livy; "
         "papermill = kernel batch start + every cell incl. the write and checks + kernel shutdown; the "
         "executed .ipynb and HTML are written too)",
         "S,N = script first in the pair; others% = CPU share of other processes during the script/notebook run"]
        + (["run with section 1: each pair's script run IS section 1's Dagster->Livy run of that pair (the same job, "
            "date and silver), the notebook run after both runs of the pair (bench/README.md 'Budget')"] if shared else []))
