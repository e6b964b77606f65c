"""Where a gold run's seconds go: Spark jobs and stages per phase, from the Spark event log.

    python -m bench.sparkprofile [--page-views 1000000] [--date 2025-03-02] [--runs 2] [--dir DIR]
                            [--tables customer] [--floor]

One local SparkSession (`local[*]`) with the spark-defaults the Livy batches get (rendered by
`livyctl conf` for a private run dir and lakehouse under DIR, default a new temp dir), event log on
(spark.eventLog.enabled, under DIR/eventlog). Generates the silver date if DIR has none, then runs
`run_gold_job` --runs times per table (the first run pays the JIT and the catalog's first
connections) and, with --floor, bench/floor.py's query on the same session. Each phase (load =
read + validate silver, write = the Iceberg commit, checks = the checks and the row stats) is a
Spark job description, so the table printed at the end counts jobs and stages per phase and sums
their durations. Not part of `make bench` (a tool for looking); bench/README.md says what it found.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.report import format_table
from bench.stack import LIVYCTL, REPO


def spark_env(base: Path) -> dict[str, str]:
    """Render the Livy batches' spark-defaults for a private run dir/lakehouse; return its env."""
    env = {**os.environ, "LIVY_RUN_DIR": str(base / "livy-run"), "LAKEHOUSE_DIR": str(base / "lakehouse"),
           "PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    for args in (["conf"], ["env", "--json"]):
        proc = subprocess.run([sys.executable, str(LIVYCTL), *args], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"livyctl {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout)


def read_event_log(directory: Path) -> list[dict]:
    """Jobs of the (one) application in `directory`: id, description, stages, seconds."""
    jobs: dict[int, dict] = {}
    stage_s: dict[int, float] = {}
    stage_cpu: dict[int, float] = {}
    for path in sorted(directory.iterdir()):
        for line in path.read_text(errors="replace").splitlines():
            ev = json.loads(line)
            kind = ev.get("Event")
            if kind == "SparkListenerJobStart":
                props = ev.get("Properties") or {}
                jobs[ev["Job ID"]] = {
                    "id": ev["Job ID"], "phase": props.get("spark.job.description") or "-",
                    "stages": [s["Stage ID"] for s in ev.get("Stage Infos", [])],
                    "start": ev["Submission Time"] / 1000, "end": None, "skipped": 0,
                }
            elif kind == "SparkListenerJobEnd" and ev["Job ID"] in jobs:
                jobs[ev["Job ID"]]["end"] = ev["Completion Time"] / 1000
            elif kind == "SparkListenerStageCompleted":
                info = ev["Stage Info"]
                if info.get("Completion Time") and info.get("Submission Time"):
                    stage_s[info["Stage ID"]] = (info["Completion Time"] - info["Submission Time"]) / 1000
                # executor CPU time over the stage's tasks: steadier than seconds on a loaded machine
                stage_cpu[info["Stage ID"]] = sum(int(a.get("Value") or 0) for a in info.get("Accumulables", [])
                                                  if a.get("Name") == "internal.metrics.executorCpuTime") / 1e9
    for job in jobs.values():
        job["run_stages"] = [s for s in job["stages"] if s in stage_s]  # the rest were skipped (reused)
        job["seconds"] = (job["end"] - job["start"]) if job["end"] else None
        job["cpu_s"] = sum(stage_cpu.get(s, 0.0) for s in job["run_stages"])
    return sorted(jobs.values(), key=lambda j: j["id"])


@contextlib.contextmanager
def phase(spark, name: str):
    sc = spark.sparkContext
    old = sc.getLocalProperty("spark.job.description")
    sc.setJobDescription(name)
    try:
        yield
    finally:
        sc.setJobDescription(old)


def instrument(spark, label: list[str]) -> None:
    """Name every Spark job after the pipeline phase that starts it (label[0] = the run)."""
    from lakehouse_jobs import checks, io, pipeline

    def wrap(module, attr, name):
        fn = getattr(module, attr)

        @functools.wraps(fn)
        def wrapped(*a, **kw):
            with phase(spark, f"{label[0]} {name}"):
                return fn(*a, **kw)
        setattr(module, attr, wrapped)

    # write_and_check = the write (its own label, nested) + reading back + checks + row stats.
    wrap(pipeline, "load_inputs", "load")
    wrap(pipeline, "write_and_check", "checks")
    wrap(pipeline.io, "write_gold", "write")
    del checks, io


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.sparkprofile", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--page-views", type=int, default=1_000_000)
    p.add_argument("--date", default="2025-03-02")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--dir", type=Path, help="run dir + lakehouse (kept; reuse it to skip the silver step)")
    p.add_argument("--tables", default="customer", help="comma list of customer,sales,product")
    p.add_argument("--floor", action="store_true", help="also run bench/floor.py's query")
    p.add_argument("--driver-memory", default="4g")
    p.add_argument("--code", type=Path, default=REPO / "spark_scripts",
                   help="the spark_scripts dir to import lakehouse_jobs from (e.g. an older checkout's, for before/after)")
    args = p.parse_args(argv)
    base = (args.dir or Path(tempfile.mkdtemp(prefix="dagster-livy-profile-"))).resolve()
    base.mkdir(parents=True, exist_ok=True)
    env = spark_env(base)
    os.environ.update({k: env[k] for k in ("SPARK_HOME", "SPARK_CONF_DIR", "LAKEHOUSE_DIR") if k in env})
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    sys.path.insert(0, str(args.code.resolve()))
    events = base / "eventlog" / time.strftime("%H%M%S")
    events.mkdir(parents=True)

    from pyspark.sql import SparkSession

    from lakehouse_jobs import contract as c
    from lakehouse_jobs.pipeline import run_gold_job
    from lakehouse_jobs.silver import generate_silver

    spark = (SparkSession.builder.master("local[*]").appName("bench-profile")
             .config("spark.driver.memory", args.driver_memory)
             .config("spark.eventLog.enabled", "true").config("spark.eventLog.dir", f"file://{events}")
             # one plain JSON file per application (the defaults compress and roll it for the History Server)
             .config("spark.eventLog.compress", "false").config("spark.eventLog.rolling.enabled", "false")
             .getOrCreate())
    day = dt.date.fromisoformat(args.date)
    label = ["-"]
    walls: dict[str, float] = {}
    try:
        have = spark.catalog.tableExists(c.qualified(c.PAGE_VIEWS)) and spark.table(c.qualified(c.PAGE_VIEWS)) \
            .where(f"event_date = DATE'{day}'").limit(1).count() > 0
        if not have:
            with phase(spark, "silver"):
                t0 = time.monotonic()
                generate_silver(spark, day, day, args.page_views, seed=42, dirty_share=0.02)
                walls["silver"] = time.monotonic() - t0
        instrument(spark, label)
        names = {"customer": c.CUSTOMER_ANALYTICS, "sales": c.SALES_SUMMARY, "product": c.PRODUCT_PERFORMANCE}
        for short in args.tables.split(","):
            for i in range(args.runs):
                label[0] = f"{short}#{i + 1}"
                t0 = time.monotonic()
                result = run_gold_job(spark, names[short], day, day)
                walls[label[0]] = time.monotonic() - t0
                print(f"{label[0]}: {result.rows} rows, {time.monotonic() - t0:.1f}s, checks "
                      f"{sum(ch['passed'] for ch in result.checks)}/{len(result.checks)}", file=sys.stderr)
        if args.floor:
            sys.path.insert(0, str(REPO))
            from bench.floor import floor

            for i in range(args.runs):
                label[0] = f"floor#{i + 1}"
                with phase(spark, f"{label[0]} all"):
                    t0 = time.monotonic()
                    floor(spark, day, str(base / "floor-out"))
                    walls[label[0]] = time.monotonic() - t0
    finally:
        spark.stop()

    jobs = read_event_log(events)
    groups: dict[str, dict] = defaultdict(lambda: {"jobs": 0, "stages": 0, "seconds": 0.0, "cpu_s": 0.0})
    for job in jobs:
        g = groups[job["phase"]]
        g["jobs"] += 1
        g["stages"] += len(job["run_stages"])
        g["seconds"] += job["seconds"] or 0.0
        g["cpu_s"] += job["cpu_s"]
    rows = [[name, str(g["jobs"]), str(g["stages"]), f"{g['seconds']:.1f}", f"{g['cpu_s']:.1f}"]
            for name, g in groups.items()]
    print(format_table(["run phase", "jobs", "stages run", "job seconds", "task cpu s"], rows))
    print("wall s: " + ", ".join(f"{k} {v:.1f}" for k, v in walls.items()))
    print(f"event log: {events}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
