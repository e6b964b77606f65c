"""Section 3: customer analytics through Dagster -> Livy at 20k, 1M and 10M page views per day, each
against the plain-Spark floor (bench/floor.py) on the same silver, measured in the same run."""

from __future__ import annotations

import re
import shutil

from bench.context import Context
from bench.report import fmt, fmt_int, median, mem_gib, pct, progress
from bench.runs import (FloorRun, JobRun, SilverRun, app_profile, generate_silver, no_retry_pipes, run_gold_job,
                        spark_submit_floor)
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


GOALS = {1_000_000: 2.0, 10_000_000: 1.5}  # gold Spark job / floor Spark job, by page views/day
GOAL_20K_JOB_S = 5.0


def rounds(args, n: int) -> int:
    """Gold/floor pairs at `n` page views a day: --scale-rounds below 5M (a pair takes ~30 s at
    1M, where the two jobs' run-to-run spread is as wide as the distance to the goal), one from 5M
    up (~100 s a pair at 10M: three would not fit the bench's 20 minutes)."""
    return args.scale_rounds if n < 5_000_000 else 1


def floor_runs(ctx: Context, date: str, n: int) -> list[FloorRun]:
    logs = ctx.stack.run_dir / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        wait_quiet(ctx.args.quiet_wait)
        progress(f"  floor (bench/floor.py, spark-submit) on {date} ...")
        run = spark_submit_floor(ctx.stack, date, logs / f"floor-{date}-{i + 1}.log")
        progress(f"    {run.wall_s:.1f}s (job {fmt(run.job_s)}s)" + ("" if run.success else f" FAILED: {run.error}"))
        out.append(run)
    return out


def _profile(ctx: Context, app_id: str | None) -> dict:
    return app_profile(ctx.results.get("event_log_dir") or ctx.stack.base / "none", app_id) or {}


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
    results: list[dict] = []
    ctx.results["scale"] = results
    notes = [f"spark.driver.memory = {args.driver_memory} for these batches (SPARK_DRIVER_MEMORY={args.driver_memory} "
             "rendered by livyctl into the bench Livy's spark-defaults.conf; local[*] runs everything in the "
             "driver JVM)",
             f"time budget per step: {ctx.budget_s / 60:.0f} min (batch deleted and the size reported as not fitting "
             "beyond it; no Dagster step retry for the scale runs)",
             "floor = bench/floor.py by spark-submit on the same date, interleaved with the gold runs (sizes below 5M: "
             "--scale-rounds pairs, gold first in odd pairs, medians of each side; 5M and up: one pair; the 20k row: "
             "section 1's median, two floor runs after it): read the date's silver page "
             "views and purchases from the catalog, the customer group-bys, full join, write parquet; no validation, "
             "checks or Iceberg commit",
             "job = Spark job in the driver (gold: the materialization's duration_s, read silver -> write -> checks; floor: "
             "session up -> parquet written); wall = Dagster->Livy run / floor spark-submit process",
             "job/floor = gold job s / floor job s (the goal's ratio); wall/floor = Dagster wall / floor spark-submit wall",
             "jobs/stages, task s = from the Spark event log of the size's last successful gold run and last floor run "
             "(spark.eventLog.enabled for every bench batch; job and wall are medians over the pairs): "
             "Spark jobs started, stages run (not skipped), executor run time summed over tasks (includes waiting "
             "for a core on a loaded machine), cpu s = executor CPU time summed over tasks (does not); cpu/floor = "
             "gold cpu s / floor cpu s",
             "rows in = silver page views + purchase lines of the date; others% = CPU share used by other processes "
             "during the gold run; peak RSS = summed RSS of the batch's process tree (spark-submit JVM + Python driver "
             "and workers)"]
    gold20 = ctx.results.get("gold_medians")
    silver20: SilverRun | None = ctx.results.get("silver_20k")
    if not gold20:  # section 1 did not run: one gold run on its date here, so the 20k row still has a floor
        date20 = ctx.dates["gold"]
        progress(f"section 3: silver for {date20} ({args.page_views:,} page views/day) through Livy ...")
        silver20 = generate_silver(stack, date20, args.page_views, seed=args.seed, dirty_share=args.dirty_share,
                                   max_wait_s=ctx.budget_s)
        if not silver20.error:
            ctx.results["silver_20k"] = silver20  # sections 5 and 8 reuse it
            progress(f"section 3: Dagster -> Livy customer_analytics_processing [{date20}] ...")
            g = run_gold_job(job, ctx.instance, date20, resources=resources, livy_pid=server)
            progress(f"  {g.wall_s:.1f}s (job {fmt(g.spark_job_s)}s)" + ("" if g.success else f" FAILED: {g.error}"))
            if g.success:
                gold20 = {"dag_wall": g.wall_s, "dag_job": g.spark_job_s, "rows": g.rows, "app_id": g.app_id}
    points: list[tuple[int, float]] = []
    gen_points: list[tuple[int, float]] = []

    def add_row(name, date, silver_s, pv, pu, others, wall, job_s, gold_rows, prof, floors, peak, status, goal):
        ok = [f for f in floors if f.success]
        f_job = median(f.job_s for f in ok)
        f_wall = median(f.wall_s for f in ok)
        f_prof = _profile(ctx, ok[-1].app_id) if ok else {}
        ratio = job_s / f_job if job_s and f_job else None
        wratio = wall / f_wall if wall and f_wall else None
        verdict = "-" if goal is None or ratio is None else ("MET" if ratio <= goal else "NOT MET")
        rows.append([name, date, fmt(silver_s), fmt_int(pv), fmt_int(None if pv is None else pv + (pu or 0)),
                     others, fmt(wall), fmt(job_s),
                     f"{prof.get('jobs', '-')}/{prof.get('stages', '-')}", fmt(prof.get("task_s")),
                     fmt(prof.get("cpu_s")),
                     fmt(f_wall), fmt(f_job), f"{f_prof.get('jobs', '-')}/{f_prof.get('stages', '-')}",
                     fmt(f_prof.get("task_s")), fmt(f_prof.get("cpu_s")), fmt(ratio, 2), fmt(wratio, 2),
                     fmt(prof["cpu_s"] / f_prof["cpu_s"] if prof.get("cpu_s") and f_prof.get("cpu_s") else None, 2),
                     "-" if goal is None else f"<= {goal:g}: {verdict}", fmt_int(gold_rows),
                     fmt(peak, 1) if peak else "-", status])
        results.append({"label": name, "page_views": pv, "gold_job_s": job_s, "gold_wall_s": wall,
                        "floor_job_s": f_job, "floor_wall_s": f_wall, "ratio": ratio, "wall_ratio": wratio,
                        "goal": goal, "jobs": prof.get("jobs"), "cpu_s": prof.get("cpu_s"),
                        "floor_cpu_s": f_prof.get("cpu_s"), "stages": prof.get("stages"),
                        "floor_jobs": f_prof.get("jobs")})

    if gold20 and gold20.get("dag_wall") and silver20:
        pv = silver20.counts.get("silver.page_views", args.page_views)
        pu = silver20.counts.get("silver.purchases")
        progress(f"section 3: floor on the section-1 date {silver20.date} ({label(args.page_views)}) ...")
        floors = floor_runs(ctx, silver20.date, 2)
        job20 = gold20["dag_job"]
        verdict = "-" if job20 is None else ("MET" if job20 <= GOAL_20K_JOB_S else "NOT MET")
        add_row(label(args.page_views) + (" (sec. 1 median)" if ctx.results.get("gold_medians") else " (1 run)"),
                silver20.date, silver20.wall_s, pv, pu, "-",
                gold20["dag_wall"], job20, gold20.get("rows"), _profile(ctx, gold20.get("app_id")), floors, None,
                f"ok; job <= {GOAL_20K_JOB_S:g} s: {verdict}", None)
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
            rows.append([name, date] + ["-"] * 20 + [skip])
            continue

        wait_quiet(args.quiet_wait)
        progress(f"section 3: silver {name} page views for {date} through Livy ...")
        silver = generate_silver(stack, date, n, seed=args.seed, dirty_share=args.dirty_share,
                                 max_wait_s=ctx.budget_s, rss_root=server)
        if silver.error:
            progress(f"  silver {name} failed: {silver.error}")
            rows.append([name, date, fmt(silver.wall_s)] + ["-"] * 19 +
                        [f"does not fit (silver): {silver.error}"])
            continue
        progress(f"  silver ready in {silver.wall_s:.1f}s: {silver.counts}")
        ctx.results.setdefault("silver_runs", []).append(silver)
        gen_points.append((n, silver.wall_s))
        pv = silver.counts.get("silver.page_views", n)
        pu = silver.counts.get("silver.purchases")

        before = code_id(stack.staging_dir)
        golds, floors = [], []
        pairs = rounds(args, n)
        for r in range(pairs):
            # ABA...: gold first in odd pairs, the floor first in even ones (neither side always
            # inherits the other's warm page cache); medians over the pairs.
            for which in (("gold", "floor") if r % 2 == 0 else ("floor", "gold")):
                if which == "floor":
                    if golds and not golds[-1].success:
                        break  # no unpaired floor run: this pair's gold did not fit
                    floors += floor_runs(ctx, date, 1)
                    continue
                wait_quiet(args.quiet_wait)
                progress(f"section 3: Dagster -> Livy customer_analytics_processing [{date}] on {name} page views"
                         + (f" (pair {r + 1}/{pairs})" if pairs > 1 else "") + " ...")
                g: JobRun = run_gold_job(job, ctx.instance, date, resources=resources, rss_root=server,
                                         livy_pid=server)
                progress(f"  {g.wall_s:.1f}s (job {fmt(g.spark_job_s)}s)" + ("" if g.success else f" FAILED: {g.error}"))
                golds.append(g)
            if not golds[-1].success:
                break  # a size that does not fit does not fit again
        after = code_id(stack.staging_dir)
        codes[name] = before if before == after else f"{before}->{after} (edited while the bench ran)"
        ok = [g for g in golds if g.success]
        gold = ok[-1] if ok else golds[-1]  # its event log: the jobs/stages/CPU columns
        status = "ok" if ok else f"does not fit (gold): {gold.error}"
        if ok and len(ok) < len(golds):
            status = f"ok in {len(ok)} of {len(golds)} pairs; {golds[-1].error}"
        peak = max([silver.peak_rss_gib or 0] + [g.peak_rss_gib or 0 for g in golds])
        wall = median(g.wall_s for g in ok)
        add_row(name + (f" (median of {len(ok)})" if len(ok) > 1 else ""), date, silver.wall_s, pv, pu,
                pct(median(g.others for g in ok if g.others is not None)), wall,
                median(g.spark_job_s for g in ok if g.spark_job_s is not None), gold.rows,
                _profile(ctx, gold.app_id), floors, peak, status, GOALS.get(n))
        if ok:
            points.append((pv, wall))

    if codes:
        notes.append("Spark code (lakehouse_jobs zip + script hash): " + ", ".join(f"{k}: {v}" for k, v in codes.items())
                     + (f"; section 1: {ctx.results['gold_code']}" if ctx.results.get("gold_code") else ""))
    ctx.report.table(
        "3. Scale: gold.daily_customer_analytics through Dagster->Livy against the plain-Spark floor, one date per size",
        ["page views/day", "date", "silver gen s", "page views", "rows in", "others%", "dagster wall s",
         "spark job s", "jobs/stages", "task s", "cpu s", "floor wall s", "floor job s", "floor jobs/stages",
         "floor task s", "floor cpu s", "job/floor", "wall/floor", "cpu/floor", "goal (job/floor)", "gold rows", "peak RSS GiB", "status"],
        rows, notes)
