"""`python -m bench`: start a private Livy, run the sections, print the tables, stop Livy.

    python -m bench [--runs 5] [--quick] [--sections 1,2,3,4,5,6,7,8] [--out FILE] [--keep] [--img-dir DIR]

Progress lines ("[bench ...]") go to stderr, the report (header and tables) to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

from bench.report import Report, load1, mem_gib, nproc, progress
from bench.stack import QUIET_WAITED, BenchStack

DATES = {"gold": "2025-03-01", "scale": ["2025-03-02", "2025-03-03", "2025-03-04", "2025-03-05"],
         "generator": "2025-03-06", "backfill": "2025-03-10"}
ALL_SECTIONS = "1,2,3,4,5,6,7,8"
QUICK_SECTIONS = "1,2,3,6"  # ~7 min; `--quick --sections 7` is the backfill look (~3 min)
# Minutes each section takes on a quiet 2-core machine with the default options / with --quick,
# each run alone (bench/README.md "Budget"; the full run's from results-full3-2026-11-28.txt; the
# quick ones from results-budget-2026-11-28.txt, section 3's plus its second pair at 1M, ~0.6 min).
# Section 5 runs inside section 1 and section 8 inside section 7 when both are
# selected (estimate()); the header prints the sum for the sections run.
BUDGET_MIN = {1: 2.8, 2: 2.6, 3: 4.8, 4: 0.8, 5: 2.0, 6: 1.7, 7: 3.9, 8: 3.9}
BUDGET_QUICK_MIN = {1: 1.5, 2: 2.0, 3: 2.2, 4: 1.0, 5: 1.4, 6: 0.7, 7: 2.7, 8: 1.3}
JOINED_MIN = {5: (1, 1.0), 8: (7, 1.3)}  # section: (the section it runs inside, minutes it adds there)
START_MIN = 0.3  # the bench Livy's start and the definitions' import


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5,
                   help="section 1: measured pairs (default 5; sections 4, 5, 8 use min(--runs, 3))")
    p.add_argument("--scale-rounds", type=int, default=3,
                   help="section 3: interleaved gold/floor pairs at each size below 5M page views (default 3; "
                        "--quick 2); larger sizes run one pair")
    p.add_argument("--warmup", dest="warmup", action="store_true", default=False,
                   help="sections 1 and 5: an unmeasured warm-up pair first (default off: the silver generation "
                        "before section 1 already runs Spark through Livy; bench/README.md 'Budget')")
    p.add_argument("--no-warmup", dest="warmup", action="store_false", help="no warm-up pair (the default)")
    p.add_argument("--batches", type=int, default=5,
                   help="section 2: quiet and chatty batches at the default policy (default 5)")
    p.add_argument("--poll-parallel", type=int, default=8,
                   help="section 2: how many of its no-Spark batches run side by side (default 8; 1 = one at "
                        "a time, the way to check that running them together moves no figure)")
    p.add_argument("--sleep-s", type=float, default=30.0, help="section 2: seconds the batch script runs (default 30)")
    p.add_argument("--page-views", type=int, default=20_000, help="section 1: page views per day (default 20000)")
    p.add_argument("--sizes", default="1M,10M", help="section 3: page views per day (default 1M,10M)")
    p.add_argument("--quick", action="store_true",
                   help="a look in ~7 min: sections 1,2,3,6 unless --sections; section 1: 2 runs, no warm-up; "
                        "section 2: 2 quiet + 2 chatty batches, one of each other case; section 3: 2 pairs at 1M, "
                        "no 10M size; section 5: 2 "
                        "pairs; section 6: 1M rows; section 7: customer analytics only; section 8: 1 pair")
    p.add_argument("--sections", default=None,
                   help=f"which sections to run (default {ALL_SECTIONS}; --quick: {QUICK_SECTIONS})")
    p.add_argument("--img-dir", type=Path, default=Path(__file__).resolve().parent / "img",
                   help="where the PNG charts go (default bench/img)")
    p.add_argument("--no-charts", dest="charts", action="store_false", help="write no PNG charts")
    p.add_argument("--driver-memory", default="4g",
                   help="spark.driver.memory of the bench Livy (SPARK_DRIVER_MEMORY; default 4g, for 10M)")
    p.add_argument("--budget-min", type=float, default=15.0,
                   help="time budget per Livy batch in minutes; beyond it a size 'does not fit' (default 15)")
    p.add_argument("--quiet-wait", type=float, default=20.0,
                   help="before each measured run, wait up to this many seconds for other processes' CPU "
                        "use to drop below 25%% (default 20)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--dirty-share", type=float, default=0.02)
    p.add_argument("--base-dir", help="where the bench Livy run dir and lakehouse go (default: a new temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, lakehouse) afterwards")
    p.add_argument("--out", type=Path, help="also write the report to this file")
    args = p.parse_args(argv)
    if min(args.runs, args.batches, args.poll_parallel, args.scale_rounds) < 1:
        p.error("--runs, --batches, --poll-parallel and --scale-rounds must be >= 1")
    if args.quick:
        args.runs = min(args.runs, 2)
        args.scale_rounds = min(args.scale_rounds, 2)
        args.batches = min(args.batches, 2)
        args.warmup = False
    sections = args.sections or (QUICK_SECTIONS if args.quick else ALL_SECTIONS)
    try:
        args.sections = {int(s) for s in sections.split(",") if s.strip()}
    except ValueError:
        p.error(f"--sections: comma-separated numbers from {ALL_SECTIONS}, got {sections!r}")
    unknown = sorted(args.sections - {int(s) for s in ALL_SECTIONS.split(",")})
    if unknown or not args.sections:
        p.error(f"--sections: no section {unknown or sections!r}; the sections are {ALL_SECTIONS}")
    return args


def estimate(args) -> dict[int, float]:
    """Estimated minutes per selected section on a quiet machine (see BUDGET_MIN)."""
    est = dict(BUDGET_QUICK_MIN if args.quick else BUDGET_MIN)
    for joined, (host, adds) in JOINED_MIN.items():
        # quick: section 7 runs customer analytics only, so section 8 stays on its own
        if joined in args.sections and host in args.sections and not (args.quick and joined == 8):
            est[host] += adds if not args.quick else adds * 2 / 3
            est[joined] = 0.1
    return {n: round(est[n], 1) for n in sorted(args.sections)}


def java_version() -> str:
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
        m = re.search(r'version "([^"]+)"', out)
        return m.group(1) if m else "?"
    except OSError:
        return "?"


def header(report: Report, args, stack: BenchStack, instance_dir: Path) -> None:
    import dagster
    import pyspark

    from dagster_livy import LivyClient

    with LivyClient(stack.url) as client:
        livy = client.version()
    defaults = stack.spark_defaults()
    jars = [Path(j).name for j in defaults.get("spark.jars", "").split(",") if "iceberg" in j]
    now = dt.datetime.now(dt.timezone.utc)
    report.say(f"dagster-livy benchmarks  {now:%Y-%m-%d %H:%M} UTC")
    report.say("=" * 72)
    report.say(f"machine   {nproc()} CPUs (nproc), {mem_gib('MemTotal'):.1f} GiB RAM "
               f"({mem_gib('MemAvailable'):.1f} GiB available at start), load avg {load1()} at start, "
               f"{platform.system()} {platform.release()}")
    report.say(f"versions  Livy {livy.get('version', '?')} (GET /version), pyspark {pyspark.__version__}, "
               f"dagster {dagster.__version__}, Python {platform.python_version()}, Java {java_version()}"
               + (f", {', '.join(jars)}" if jars else ""))
    report.say(f"Livy      own server {stack.url} (master local[*]), run dir {stack.run_dir}, "
               f"lakehouse {stack.lakehouse_dir}")
    report.say(f"Spark     spark.driver.memory={defaults.get('spark.driver.memory')} (SPARK_DRIVER_MEMORY="
               f"{args.driver_memory}, rendered by livyctl into spark-defaults.conf: every Livy batch and the "
               f"plain spark-submit runs), spark.sql.shuffle.partitions={defaults.get('spark.sql.shuffle.partitions')}")
    report.say(f"          spark.eventLog.enabled=true for every bench batch and spark-submit (event logs under "
               f"{stack.base / 'eventlog'}: the jobs/stages columns)")
    report.say(f"Dagster   private instance {instance_dir} (SQLite; not DAGSTER_HOME), execute_in_process, "
               "console log level WARNING")
    report.say(f"options   runs={args.runs} scale-rounds={args.scale_rounds} warm-up={'yes' if args.warmup else 'no'} batches={args.batches} "
               f"poll-parallel={args.poll_parallel} sizes={args.sizes} quick={args.quick} budget={args.budget_min:g} "
               f"min seed={args.seed} dirty-share={args.dirty_share}")
    est = estimate(args)
    report.say(f"budget    sections {','.join(str(n) for n in sorted(args.sections))}: estimated "
               f"{START_MIN + sum(est.values()):.0f} min on a quiet 2-core machine ("
               + ", ".join(f"{n}: {m:g}" for n, m in est.items())
               + f" min; start {START_MIN:g}); the goal is <= 20 min for `make bench` (bench/README.md 'Budget')")
    report.say()


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore")  # Dagster beta/preview warnings would drown the progress lines
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    # SIGTERM (e.g. a CI timeout) must still stop the bench Livy: turn it into an exception.
    signal.signal(signal.SIGTERM, _interrupt)

    began = time.monotonic()
    own_base = args.base_dir is None
    base = Path(args.base_dir or tempfile.mkdtemp(prefix="dagster-livy-bench-")).resolve()
    base.mkdir(parents=True, exist_ok=True)
    report = Report()
    stack = instance = None
    failed = False
    try:
        progress(f"starting the bench's own Livy (run dir {base / 'livy-run'}, lakehouse {base / 'lakehouse'}, "
                 f"SPARK_DRIVER_MEMORY={args.driver_memory}) ...")
        stack = BenchStack.start(base, args.driver_memory)
        progress(f"Livy up at {stack.url}")

        from bench.runs import enable_event_log, point_dagster_at

        event_logs = base / "eventlog"
        enable_event_log(stack, event_logs)

        budget_s = args.budget_min * 60
        point_dagster_at(stack, budget_s)
        import dagster as dg

        from dagster_livy.lakehouse.definitions import defs  # after point_dagster_at: reads the env

        instance_dir = base / "dagster-home"
        instance_dir.mkdir(exist_ok=True)
        (instance_dir / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        instance = dg.DagsterInstance.local_temp(tempdir=str(instance_dir),
                                                 overrides={"telemetry": {"enabled": False}})
        header(report, args, stack, instance_dir)

        from bench.context import Context

        ctx = Context(args=args, report=report, stack=stack, instance=instance, defs=defs, dates=DATES,
                      budget_s=budget_s)
        ctx.results["event_log_dir"] = event_logs
        from bench import backfill, generator, gold, kernel, notebook, onebatch, polling, scale

        elapsed: dict[int, tuple[float, str, str]] = {}
        sections = ((1, gold), (2, polling), (3, scale), (4, kernel), (5, notebook), (6, generator), (7, backfill), (8, onebatch))
        for number, module in sections:
            if number not in args.sections:
                continue
            started, load_before, waited = time.monotonic(), load1(), QUIET_WAITED[0]
            try:
                module.run(ctx)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # report it, keep going: the other sections still mean something
                failed = True
                traceback.print_exc()
                report.say(f"{number}. FAILED: {type(exc).__name__}: {exc}")
                report.say()
            minutes, waited = (time.monotonic() - started) / 60, (QUIET_WAITED[0] - waited) / 60
            elapsed[number] = (minutes, load_before, load1())
            progress(f"section {number} done in {minutes:.1f} min")
            report.say(f"  section {number} took {minutes:.1f} min, {waited:.1f} of them waiting for quiet (load avg "
                       f"{load_before} -> {load1()}; estimated on a quiet machine: {estimate(args)[number]:g} min)")
            report.say()
        if args.charts:
            try:
                from bench.charts import write_charts

                stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
                for path in write_charts(ctx.results, args.img_dir, stamp):
                    report.say(f"chart {path}")
            except Exception as exc:  # a chart must not cost the figures
                report.say(f"charts FAILED: {type(exc).__name__}: {exc}")
        report.say("sections  " + ", ".join(f"{n}: {m:.1f} min" for n, (m, _, _) in elapsed.items())
                   + f" (estimated {sum(estimate(args)[n] for n in elapsed):.1f})")
        report.say(f"total {(time.monotonic() - began) / 60:.1f} min; load avg {load1()} at the end; "
                   f"{mem_gib('MemAvailable'):.1f} GiB available at the end")
    except KeyboardInterrupt:
        failed = True
        progress("interrupted")
    finally:
        if instance is not None:
            instance.dispose()
        if stack is not None:
            progress("stopping the bench Livy ...")
            progress(stack.stop() or "stopped")
        if own_base and not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        elif args.keep:
            progress(f"kept {base}")
        if args.out and report.lines:
            report.save(args.out)
            progress(f"report written to {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
