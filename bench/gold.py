"""Section 1: one gold partition, Dagster -> Livy against plain spark-submit, interleaved."""

from __future__ import annotations

from bench.context import Context
from bench.report import fmt, fmt_int, median, pct, progress
from bench.runs import JobRun, SubmitRun, generate_silver, run_gold_job, spark_submit_gold
from bench.stack import wait_quiet

GOAL = 1.10


def run(ctx: Context) -> None:
    from dagster_livy.lakehouse.packaging import package_zip

    args, date = ctx.args, ctx.dates["gold"]
    progress(f"section 1: silver for {date} ({args.page_views:,} page views/day) through Livy ...")
    silver = generate_silver(ctx.stack, date, args.page_views, seed=args.seed, dirty_share=args.dirty_share,
                             max_wait_s=ctx.budget_s)
    if silver.error:
        raise RuntimeError(f"silver generation failed: {silver.error}")
    ctx.results["silver_20k"] = silver
    progress(f"silver ready in {silver.wall_s:.1f}s: {silver.counts}")

    job = ctx.job("customer_analytics_processing")
    zip_path = package_zip(ctx.stack.staging_dir)  # the very zip the asset ships as pyFiles
    logs = ctx.stack.run_dir / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)

    livy_pid = ctx.stack.server_pid()
    pairs: list[tuple[str, str, JobRun, SubmitRun]] = []
    total = args.runs + (1 if args.warmup else 0)
    for i in range(total):
        label = "warm-up" if args.warmup and i == 0 else str(i + (0 if args.warmup else 1))
        # Alternate which goes first, so neither side always inherits the other's warm caches.
        order = ("dagster", "submit") if i % 2 == 0 else ("submit", "dagster")
        dag = sub = None
        for which in order:
            wait_quiet(args.quiet_wait)
            if which == "dagster":
                progress(f"run {label}: Dagster -> Livy customer_analytics_processing [{date}] ...")
                dag = run_gold_job(job, ctx.instance, date, livy_pid=livy_pid)
                progress(f"  {dag.wall_s:.1f}s" + ("" if dag.success else f" FAILED: {dag.error}"))
            else:
                progress(f"run {label}: spark-submit batch_customer_analytics.py --date {date} ...")
                sub = spark_submit_gold(ctx.stack, zip_path, date, logs / f"submit-{label}.log",
                                        livy_pid=livy_pid)
                progress(f"  {sub.wall_s:.1f}s" + ("" if sub.success else f" FAILED: {sub.error}"))
        pairs.append((label, "D,S" if order[0] == "dagster" else "S,D", dag, sub))

    measured = [(l, o, d, s) for l, o, d, s in pairs if l != "warm-up"]
    ok_d = [d for _, _, d, _ in measured if d.success]
    ok_s = [s for _, _, _, s in measured if s.success]
    med = {
        "dag_wall": median(d.wall_s for d in ok_d), "dag_batch": median(d.livy_batch_s for d in ok_d),
        "dag_job": median(d.spark_job_s for d in ok_d), "sub_wall": median(s.wall_s for s in ok_s),
        "sub_job": median(s.spark_job_s for s in ok_s),
    }
    ratio = med["dag_wall"] / med["sub_wall"] if med["dag_wall"] and med["sub_wall"] else None
    ctx.results["gold_medians"] = med | {"rows": next((d.rows for d in ok_d if d.rows), None)}

    rows = []
    for label, order, d, s in pairs:
        r = d.wall_s / s.wall_s if d.success and s.success else None
        rows.append([label, order, pct(d.others) + "/" + pct(s.others), fmt(d.wall_s), fmt(d.livy_batch_s), fmt(d.spark_job_s),
                     d.checks, fmt(s.wall_s), fmt(s.spark_job_s), s.checks, fmt(r, 3),
                     "ok" if d.success and s.success else f"FAILED: {(d.error or s.error or '')[:60]}"])
    rows.append(["---"])
    rows.append([f"median of {len(ok_d)}/{len(ok_s)}", "", "", fmt(med["dag_wall"]), fmt(med["dag_batch"]),
                 fmt(med["dag_job"]), "", fmt(med["sub_wall"]), fmt(med["sub_job"]), "", fmt(ratio, 3), ""])

    rows_out = ctx.results["gold_medians"]["rows"]
    verdict = "-" if ratio is None else ("MET" if ratio <= GOAL else "NOT MET")
    notes = [
        f"data: silver {date}: {fmt_int(silver.counts.get('silver.page_views'))} page views, "
        f"{fmt_int(silver.counts.get('silver.purchases'))} purchase lines, dirty share {args.dirty_share}; "
        f"gold rows written per run: {fmt_int(rows_out)}",
        f"ratio of medians Dagster->Livy / spark-submit = {fmt(ratio, 3)}  (goal <= {GOAL:.2f}: {verdict}); "
        f"median of the per-pair ratios {fmt(median(d.wall_s / s.wall_s for _, _, d, s in measured if d.success and s.success), 3)}",
        f"other processes used a median {pct(median(d.others for d in ok_d))}% (Dagster runs) / "
        f"{pct(median(s.others for s in ok_s))}% (spark-submit runs) of the CPU during the measured runs",
    ]
    if all(med[k] is not None for k in med):
        notes += [
            "where the difference goes (medians):",
            f"  Dagster run outside the Livy batch (wall - livy batch)    {med['dag_wall'] - med['dag_batch']:6.1f} s"
            "   run/instance setup, health+lookup+POST, events, DELETE",
            f"  Livy batch beyond plain spark-submit (batch - submit wall) {med['dag_batch'] - med['sub_wall']:6.1f} s"
            "   Livy launching spark-submit, state/poll detection, log drain",
            f"  Spark JVM/session start+stop (submit wall - spark job)    {med['sub_wall'] - med['sub_job']:6.1f} s"
            "   paid by both sides",
            f"  the Spark job itself (in the driver)        Dagster side {med['dag_job']:6.1f} s, spark-submit side "
            f"{med['sub_job']:.1f} s",
        ]
    notes.append("D,S = Dagster ran first in the pair, S,D = spark-submit first; others% = share of the machine's "
                 "CPU used by processes other than the bench's own during the Dagster/spark-submit run (before each "
                 f"run the bench waits up to {args.quiet_wait:g}s for it to drop below 25%)")
    ctx.report.table(
        f"1. One gold partition: gold.daily_customer_analytics [{date}], Dagster->Livy vs plain spark-submit "
        f"(interleaved, N={args.runs})",
        ["run", "order", "others% D/S", "dagster wall s", "livy batch s", "spark job s", "checks",
         "submit wall s", "spark job s", "checks", "ratio", "status"],
        rows, notes)
