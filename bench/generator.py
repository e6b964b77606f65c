"""Section 6: the silver generator's page views against rows from spark.range, same writes."""

from __future__ import annotations

from bench.context import Context
from bench.report import fmt, fmt_int, median, progress
from bench.runs import spark_submit_genbench
from bench.stack import wait_quiet

GOAL = 2.0


def run(ctx: Context) -> None:
    from dagster_livy.lakehouse.packaging import package_zip

    args = ctx.args
    n = 1_000_000 if args.quick else 10_000_000
    pairs = 2 if args.quick else 3
    date = ctx.dates["generator"]
    logs = ctx.stack.run_dir / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    wait_quiet(args.quiet_wait)
    progress(f"section 6: bench/genbench.py: {fmt_int(n)} page views, generator vs spark.range, {pairs} pairs ...")
    run = spark_submit_genbench(ctx.stack, package_zip(ctx.stack.staging_dir), date, n, pairs,
                                logs / "genbench.log", seed=args.seed, dirty_share=args.dirty_share)
    progress(f"  {run.wall_s:.1f}s" + ("" if run.success else f" FAILED: {run.error}"))
    rows = []
    for i in range(max(len(run.range_s), len(run.gen_s))):
        r = run.range_s[i] if i < len(run.range_s) else None
        g = run.gen_s[i] if i < len(run.gen_s) else None
        rows.append([str(i + 1), "range,gen" if i % 2 == 0 else "gen,range", fmt(r), fmt(g),
                     fmt(g / r if r and g else None, 2)])
    med_r, med_g = median(run.range_s), median(run.gen_s)
    ratio = med_g / med_r if med_r and med_g else None
    rows.append(["---"])
    rows.append(["median", "", fmt(med_r), fmt(med_g), fmt(ratio, 2)])
    verdict = "-" if ratio is None else ("MET" if ratio <= GOAL else "NOT MET")
    ctx.results["generator"] = {"page_views": n, "range_s": med_r, "gen_s": med_g, "ratio": ratio}
    ctx.report.table(
        f"6. Silver generator: {fmt_int(n)} page views for one date, generator vs spark.range columns "
        f"(one spark-submit, interleaved, {pairs} pairs)",
        ["pair", "order", "spark.range s", "generator s", "gen/range"], rows,
        [f"ratio of medians generator / spark.range = {fmt(ratio, 2)}  (goal <= {GOAL:g}: {verdict})",
         "both write the same number of rows with the silver page views' schema and partitioning through the same "
         "Iceberg overwrite of the date, into scratch tables lakehouse.bench.* (dropped afterwards); seconds from the "
         "DataFrame built to the commit done, in one driver, after one unmeasured warm-up write of each",
         "spark.range = every column a cheap function of the row id (concat, modulo, one timestamp); generator = "
         "lakehouse_jobs.silver.page_views_df (xxhash64-derived sessions, customers, Zipf products, page-type mix, "
         f"dirty share {args.dirty_share})",
         "" if run.success else f"FAILED: {run.error}"])
