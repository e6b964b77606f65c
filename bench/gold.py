"""Section 1: one gold partition, Dagster -> Livy against plain spark-submit, interleaved."""

from __future__ import annotations

import hashlib

from bench.context import Context
from bench.report import fmt, fmt_int, median, pct, progress
from bench.runs import GOLD_SCRIPT, JobRun, SubmitRun, generate_silver, run_gold_job, spark_submit_gold
from bench.stack import wait_quiet

GOAL = 1.10


def code_id(staging_dir) -> str:
    """The Spark code a run would ship now: the lakehouse_jobs zip's content hash (package_zip names
    it so) and the script's. Others may edit spark_scripts/ while the bench runs; a pair whose code
    changed under it compares two different programs."""
    from dagster_livy.lakehouse.packaging import package_zip

    return package_zip(staging_dir).stem.rsplit("-", 1)[-1][:8] + hashlib.sha256(GOLD_SCRIPT.read_bytes()).hexdigest()[:4]


def order_of(order: tuple[str, ...], a: str, b: str, a_first: str, b_first: str) -> str:
    """`a_first` when `a` ran before `b` in `order`, else `b_first`."""
    return a_first if order.index(a) < order.index(b) else b_first


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
    logs = ctx.stack.run_dir / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)

    livy_pid = ctx.stack.server_pid()
    # With section 5 selected, its notebook runs join the first pairs here: its script side is this
    # pair's Dagster->Livy run (the same job, date and silver), one run fewer per pair. The notebook
    # runs last in the pair, after both measured runs: the run that follows it (the next pair's
    # first) alternates between spark-submit and Dagster with the pairs' order, so whatever a
    # notebook run leaves behind falls on both sides (S, D, S with 5 pairs and 3 notebook runs).
    # Placed next to the Dagster run, it came right before it or right after it in every pair.
    nb_asset, nb_pairs, nb_total = None, [], 0
    if 5 in args.sections:
        from bench import notebook

        nb_asset = notebook.prepare(ctx)
        nb_total = notebook.runs_wanted(args) + (1 if args.warmup and not args.quick else 0)
    pairs: list[tuple[str, str, JobRun, SubmitRun]] = []
    codes: dict[str, str] = {}
    total = args.runs + (1 if args.warmup else 0)
    for i in range(total):
        label = "warm-up" if args.warmup and i == 0 else str(i + (0 if args.warmup else 1))
        # Alternate which goes first, so neither side always inherits the other's warm caches.
        order = ("dagster", "submit") if i % 2 == 0 else ("submit", "dagster")
        dag = sub = nb = None
        if i < nb_total:
            order = (*order, "notebook")
        before = code_id(ctx.stack.staging_dir)
        for which in order:
            if which == "notebook":
                wait_quiet(args.quiet_wait)
                nb = notebook.run_notebook(ctx, nb_asset, date, label)
                continue
            wait_quiet(args.quiet_wait)
            if which == "dagster":
                progress(f"run {label}: Dagster -> Livy customer_analytics_processing [{date}] ...")
                dag = run_gold_job(job, ctx.instance, date, livy_pid=livy_pid)
                progress(f"  {dag.wall_s:.1f}s" + ("" if dag.success else f" FAILED: {dag.error}"))
            else:
                progress(f"run {label}: spark-submit batch_customer_analytics.py --date {date} ...")
                # The zip the asset would ship right now (package_zip at run time, as the asset does).
                zip_path = package_zip(ctx.stack.staging_dir)
                sub = spark_submit_gold(ctx.stack, zip_path, date, logs / f"submit-{label}.log",
                                        livy_pid=livy_pid)
                progress(f"  {sub.wall_s:.1f}s" + ("" if sub.success else f" FAILED: {sub.error}"))
        after = code_id(ctx.stack.staging_dir)
        codes[label] = before if before == after else f"{before}->{after}"
        if before != after:
            progress(f"  the Spark code changed during pair {label} ({before} -> {after}): excluded from the medians")
            msg = "excluded: Spark code changed mid-pair"
            dag.success, sub.success = False, False
            dag.error = sub.error = msg
        pairs.append((label, order_of(order, "dagster", "submit", "D,S", "S,D"), dag, sub))
        if nb is not None:
            nb_pairs.append((label, order_of(order, "dagster", "notebook", "S,N", "N,S"), dag, nb))

    if nb_pairs:
        ctx.results["notebook_pairs"] = nb_pairs
    measured = [(l, o, d, s) for l, o, d, s in pairs if l != "warm-up"]
    ok_d = [d for _, _, d, _ in measured if d.success]
    ok_s = [s for _, _, _, s in measured if s.success]
    med = {
        "dag_wall": median(d.wall_s for d in ok_d), "dag_batch": median(d.livy_batch_s for d in ok_d),
        "dag_job": median(d.spark_job_s for d in ok_d), "sub_wall": median(s.wall_s for s in ok_s),
        "sub_job": median(s.spark_job_s for s in ok_s),
    }
    ratio = med["dag_wall"] / med["sub_wall"] if med["dag_wall"] and med["sub_wall"] else None
    ctx.results["gold_medians"] = med | {"rows": next((d.rows for d in ok_d if d.rows), None),
                                         "app_id": next((d.app_id for d in reversed(ok_d) if d.app_id), None)}

    rows = []
    for label, order, d, s in pairs:
        r = d.wall_s / s.wall_s if d.success and s.success else None
        rows.append([label, order, pct(d.others) + "/" + pct(s.others), fmt(d.wall_s), fmt(d.livy_batch_s), fmt(d.spark_job_s),
                     d.checks, fmt(s.wall_s), fmt(s.spark_job_s), s.checks, fmt(r, 3),
                     "ok" if d.success and s.success else
                     (d.error if (d.error or "").startswith("excluded") else f"FAILED: {(d.error or s.error or '')[:60]}")])
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
    # Per-run differences, then medians: robust to the Spark job's own run-to-run noise.
    outside_batch = median(d.wall_s - d.livy_batch_s for d in ok_d if d.livy_batch_s is not None)
    batch_over_job = median(d.livy_batch_s - d.spark_job_s for d in ok_d
                            if d.livy_batch_s is not None and d.spark_job_s is not None)
    dag_fixed = median(d.wall_s - d.spark_job_s for d in ok_d if d.spark_job_s is not None)
    sub_fixed = median(s.wall_s - s.spark_job_s for s in ok_s if s.spark_job_s is not None)
    if None not in (outside_batch, batch_over_job, dag_fixed, sub_fixed):
        notes += [
            "where the time goes (per-run differences, medians):",
            f"  time outside the Spark job (wall - spark job):  Dagster->Livy {dag_fixed:5.1f} s,  "
            f"spark-submit {sub_fixed:5.1f} s  =>  Dagster+Livy add {dag_fixed - sub_fixed:+.1f} s",
            f"    of which Dagster outside the Livy batch (wall - livy batch) {outside_batch:5.1f} s: run setup, "
            "health + lookup + POST, event writes, DELETE",
            f"    and the Livy batch beyond the job (livy batch - spark job)   {batch_over_job:5.1f} s: spark-submit "
            "JVM + SparkSession start/stop, end detection, log drain",
            f"  the Spark job itself (in the driver): Dagster side {med['dag_job']:.1f} s, spark-submit side "
            f"{med['sub_job']:.1f} s (same code and data: its spread is the machine's noise)",
        ]
    distinct = sorted(set(codes.values()))
    notes.append("Spark code (lakehouse_jobs zip + script hash): " + (
        f"{distinct[0]} in every pair" if len(distinct) == 1 else
        ", ".join(f"{k}: {v}" for k, v in codes.items()) + "  (edited while the bench ran)"))
    ctx.results["gold_code"] = distinct[-1] if distinct else None
    notes.append("D,S = Dagster ran first in the pair, S,D = spark-submit first; others% = share of the machine's "
                 "CPU used by processes other than the bench's own during the Dagster/spark-submit run (before each "
                 f"run the bench waits up to {args.quiet_wait:g}s for it to drop below 25%)")
    if nb_pairs:
        notes.append(f"with section 5: in the first {len(nb_pairs)} pairs its notebook run came last, after both measured "
                     "runs (so the run after it alternates between the sides); the pair's Dagster run is section 5's "
                     "script side")
    ctx.report.table(
        f"1. One gold partition: gold.daily_customer_analytics [{date}], Dagster->Livy vs plain spark-submit "
        f"(interleaved, N={args.runs})",
        ["run", "order", "others% D/S", "dagster wall s", "livy batch s", "spark job s", "checks",
         "submit wall s", "spark job s", "checks", "ratio", "status"],
        rows, notes)
