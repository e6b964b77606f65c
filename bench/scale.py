"""Section 3: customer analytics through Dagster -> Livy at 1M and 10M page views per day."""

from __future__ import annotations

import re
import shutil

from bench.context import Context
from bench.report import fmt, fmt_int, mem_gib, pct, progress
from bench.runs import JobRun, SilverRun, generate_silver, no_retry_pipes, run_gold_job
from bench.stack import wait_quiet


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not m:
        raise ValueError(f"bad size {text!r} (e.g. 1M, 10M, 500k)")
    return int(float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6}[m.group(2).lower()])


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else (f"{n // 1000}k" if n % 1000 == 0 else str(n))


def gib(mem: str) -> float:
    m = re.fullmatch(r"(\d+)([kmgtKMGT]?)", mem)
    n, unit = int(m.group(1)), m.group(2).lower()
    return n / {"k": 1024 ** 2, "m": 1024, "g": 1, "t": 1 / 1024, "": 1024 ** 3}[unit]


def projection(points: list[tuple[int, float]], n: int) -> float | None:
    """Linear fixed + per-row cost through the two largest measured sizes."""
    if len(points) < 2:
        return None
    (n0, t0), (n1, t1) = sorted(points)[-2:]
    if n1 == n0:
        return None
    per_row = max(0.0, (t1 - t0) / (n1 - n0))
    return t1 + per_row * (n - n1)


def run(ctx: Context) -> None:
    args, stack = ctx.args, ctx.stack
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    driver_gib = gib(args.driver_memory)
    job = ctx.job("customer_analytics_processing")
    from dagster_livy.lakehouse.settings import build_resources

    base = build_resources()  # LIVY_MAX_WAIT_S = the time budget (set before import)
    resources = {"livy": base["livy"], "pipes_livy": no_retry_pipes(base["livy"])}
    server = stack.server_pid()

    from bench.gold import code_id

    codes: dict[str, str] = {}
    rows = []
    notes = [f"spark.driver.memory = {args.driver_memory} for these batches (SPARK_DRIVER_MEMORY={args.driver_memory} "
             "rendered by livyctl into the bench Livy's spark-defaults.conf; local[*] runs everything in the "
             "driver JVM)",
             f"time budget per step: {ctx.budget_s / 60:.0f} min (batch deleted and the size reported as not fitting "
             "beyond it; no Dagster step retry for the scale runs)",
             "rows in = silver page views + purchase lines of the date; cost = Dagster->Livy wall per 1M page views; "
             "others% = CPU share used by other processes during the gold run; peak RSS = summed RSS of the batch's process tree (spark-submit JVM + Python driver and workers)"]
    gold20 = ctx.results.get("gold_medians")
    silver20: SilverRun | None = ctx.results.get("silver_20k")
    points: list[tuple[int, float]] = []
    gen_points: list[tuple[int, float]] = []
    if gold20 and gold20.get("dag_wall") and silver20:
        pv = silver20.counts.get("silver.page_views", args.page_views)
        pu = silver20.counts.get("silver.purchases")
        rows.append([label(args.page_views) + " (sec. 1 median)", silver20.date, fmt(silver20.wall_s), fmt_int(pv),
                     fmt_int(pu), fmt_int(pv + (pu or 0)), "-", fmt(gold20["dag_wall"]), fmt(gold20["dag_batch"]),
                     fmt(gold20["dag_job"]), fmt_int(gold20.get("rows")), fmt(gold20["dag_wall"] / (pv / 1e6), 0),
                     "-", "ok"])
        points.append((pv, gold20["dag_wall"]))
        gen_points.append((pv, silver20.wall_s))

    for i, n in enumerate(sizes):
        date = ctx.dates["scale"][i]
        name = label(n)
        skip = None
        if args.quick and n >= 10_000_000:
            skip = "skipped (--quick)"
        avail = mem_gib("MemAvailable")
        if not skip and avail is not None and avail < driver_gib + 2:
            skip = (f"does not fit: {avail:.1f} GiB available, the driver alone takes {driver_gib:g} GiB "
                    "plus ~2 GiB for Python workers and the OS")
        free = shutil.disk_usage(stack.base).free / 1024 ** 3
        need = n / 1e6 * 0.2 + 1  # ~100 B/row parquet for silver and gold, generously doubled
        if not skip and free < need:
            skip = f"does not fit: {free:.1f} GiB free disk in {stack.base}, ~{need:.0f} GiB needed"
        if not skip:
            proj_gen, proj_gold = projection(gen_points, n), projection(points, n)
            if proj_gen and proj_gold and max(proj_gen, proj_gold) > 2 * ctx.budget_s:
                skip = (f"would not fit the time budget: projected {proj_gen / 60:.0f} min silver + "
                        f"{proj_gold / 60:.0f} min gold (linear from the smaller sizes) > 2 x "
                        f"{ctx.budget_s / 60:.0f} min")
        if skip:
            progress(f"section 3: {name}: {skip}")
            rows.append([name, date] + ["-"] * 11 + [skip])
            continue

        wait_quiet(args.quiet_wait)
        progress(f"section 3: silver {name} page views for {date} through Livy ...")
        silver = generate_silver(stack, date, n, seed=args.seed, dirty_share=args.dirty_share,
                                 max_wait_s=ctx.budget_s, rss_root=server)
        if silver.error:
            progress(f"  silver {name} failed: {silver.error}")
            rows.append([name, date, fmt(silver.wall_s)] + ["-"] * 10 +
                        [f"does not fit (silver): {silver.error}"])
            continue
        progress(f"  silver ready in {silver.wall_s:.1f}s: {silver.counts}")
        gen_points.append((n, silver.wall_s))
        pv = silver.counts.get("silver.page_views", n)
        pu = silver.counts.get("silver.purchases")

        wait_quiet(args.quiet_wait)
        progress(f"section 3: Dagster -> Livy customer_analytics_processing [{date}] on {name} page views ...")
        codes[name] = code_id(stack.staging_dir)
        gold: JobRun = run_gold_job(job, ctx.instance, date, resources=resources, rss_root=server, livy_pid=server)
        progress(f"  {gold.wall_s:.1f}s" + ("" if gold.success else f" FAILED: {gold.error}"))
        status = "ok" if gold.success else f"does not fit (gold): {gold.error}"
        peak = max(silver.peak_rss_gib or 0, gold.peak_rss_gib or 0)
        rows.append([name, date, fmt(silver.wall_s), fmt_int(pv), fmt_int(pu), fmt_int(pv + (pu or 0)),
                     pct(gold.others), fmt(gold.wall_s), fmt(gold.livy_batch_s), fmt(gold.spark_job_s), fmt_int(gold.rows),
                     fmt(gold.wall_s / (pv / 1e6), 0) if gold.success else "-",
                     fmt(peak, 1) if peak else "-", status])
        if gold.success:
            points.append((pv, gold.wall_s))

    if codes:
        notes.append("Spark code (lakehouse_jobs zip + script hash): " + ", ".join(f"{k}: {v}" for k, v in codes.items())
                     + (f"; section 1: {ctx.results['gold_code']}" if ctx.results.get("gold_code") else ""))
    ctx.report.table(
        "3. Scale: gold.daily_customer_analytics through Dagster->Livy, one date per size",
        ["page views/day", "date", "silver gen s", "page views", "purchases", "rows in", "others%", "dagster wall s",
         "livy batch s", "spark job s", "gold rows", "s per 1M pv", "peak RSS GiB", "status"],
        rows, notes)
