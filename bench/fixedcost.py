"""Fixed cost of a small gold job: the gold script and the floor by spark-submit, per JVM/Spark setting.

    python -m bench.fixedcost [--dir DIR] [--sizes 20k] [--runs 3] [--variants base,c1,...]
                              [--variant NAME='--driver-java-options ... | --conf k=v ...']

Renders the batches' spark-defaults (`livyctl conf`) for a private run dir and lakehouse under DIR
(default a new temp dir; reuse it to keep the silver), generates each size's silver date once,
then for every round runs, for each variant (order rotated per round), the gold script
(`batch_customer_analytics.py --date D`, plain spark-submit, no Livy/Dagster) and bench/floor.py,
with the variant's extra spark-submit arguments on top of the same spark-defaults. Per run:
the job in the driver (GOLD/FLOOR `duration_s`), the spark-submit wall, the CPU seconds of the
spark-submit process tree (user+sys from wait4: the JVM, the Python driver and the workers it
reaped), the event log's Spark jobs and executor CPU, and the 1-minute load average at start.
Not part of `make bench`: a tool for choosing settings (bench/README.md, "Fixed cost").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import format_table
from bench.sparkprofile import spark_env
from bench.stack import REPO

GOLD_SCRIPT = REPO / "spark_scripts" / "batch_customer_analytics.py"
FLOOR_SCRIPT = REPO / "bench" / "floor.py"
GEN_SCRIPT = REPO / "spark_scripts" / "generate_silver.py"
SIZES = {"20k": ("2025-03-01", 20_000), "1M": ("2025-03-02", 1_000_000), "10M": ("2025-03-03", 10_000_000)}

# name -> extra spark-submit arguments (on top of the rendered spark-defaults)
VARIANTS = {
    "base": "",
    "c1": "--driver-java-options -XX:TieredStopAtLevel=1",
    "c1serial": "--driver-java-options '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC'",
    "serial": "--driver-java-options -XX:+UseSerialGC",
    "parallel": "--driver-java-options -XX:+UseParallelGC",
    "ci4": "--driver-java-options -XX:CICompilerCount=4",
    "noui": "--conf spark.ui.enabled=false",
    "nows": "--conf spark.sql.codegen.wholeStage=false",
    "noaqe": "--conf spark.sql.adaptive.enabled=false",
}


def run_one(spark_home: Path, env: dict, extra: list[str], kind: str, date: str, base: Path,
            zip_path: Path) -> dict:
    if kind == "gold":
        args = ["--py-files", str(zip_path), str(GOLD_SCRIPT), "--date", date]
        pat = r"^GOLD .*?duration_s=([\d.]+)"
    else:
        args = [str(FLOOR_SCRIPT), "--date", date, "--out", str(base / "floor-out" / date)]
        pat = r"^FLOOR .*?duration_s=([\d.]+) app=(\S+)"
    cmd = [str(spark_home / "bin" / "spark-submit"), "--master", "local[*]", *extra, *args]
    load = os.getloadavg()[0]
    before = set(os.listdir(base / "eventlog"))
    began = time.monotonic()
    with open(base / "last-run.log", "w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                text=True, cwd=base)
        out = proc.stdout.read()
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - began
    m = re.search(pat, out, re.M)
    new = sorted(set(os.listdir(base / "eventlog")) - before)
    if proc.returncode != 0 or not m:
        tail = (base / "last-run.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"{kind} {shlex.join(extra)} failed ({proc.returncode}):\n{out[-2000:]}\n{tail}")
    prof = event_profile(base / "eventlog", new[0] if new else None)
    return {"job": float(m.group(1)), "wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "load": load, **prof}


def event_profile(directory: Path, app_id: str | None) -> dict:
    """Spark jobs and executor CPU (bench.runs.app_profile), and where the driver's clock went:
    SparkContext up -> first job (`pre`), inside jobs (`injobs`, their union), between jobs (`gaps`)."""
    from bench.runs import app_profile

    prof = app_profile(directory, app_id) or {}
    out = {"jobs": prof.get("jobs"), "ecpu": prof.get("cpu_s"), "pre": None, "injobs": None, "gaps": None}
    if not app_id:
        return out
    app_start, spans = None, {}
    for line in (directory / app_id).read_text(errors="replace").splitlines():
        ev = json.loads(line)
        if ev["Event"] == "SparkListenerApplicationStart":
            app_start = ev["Timestamp"] / 1000
        elif ev["Event"] == "SparkListenerJobStart":
            spans[ev["Job ID"]] = [ev["Submission Time"] / 1000, None]
        elif ev["Event"] == "SparkListenerJobEnd" and ev["Job ID"] in spans:
            spans[ev["Job ID"]][1] = ev["Completion Time"] / 1000
    done = sorted(v for v in spans.values() if v[1] is not None)
    if not done or app_start is None:
        return out
    covered, cur = 0.0, None
    for start, end in done:  # the union of the jobs' intervals
        if cur is None or start > cur[1]:
            covered += (cur[1] - cur[0]) if cur else 0.0
            cur = [start, end]
        else:
            cur[1] = max(cur[1], end)
    covered += cur[1] - cur[0]
    span = max(e for _, e in done) - done[0][0]
    return {**out, "pre": done[0][0] - app_start, "injobs": covered, "gaps": span - covered}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.fixedcost", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", type=Path)
    p.add_argument("--sizes", default="20k")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--variants", default="base,c1")
    p.add_argument("--variant", action="append", default=[], help="NAME=spark-submit args (adds a variant)")
    p.add_argument("--kinds", default="gold,floor")
    p.add_argument("--driver-memory", default="4g")
    p.add_argument("--out", type=Path, help="append the report to this file")
    args = p.parse_args(argv)
    for spec in args.variant:
        name, _, extra = spec.partition("=")
        VARIANTS[name] = extra  # paths in it must be absolute: spark-submit runs in DIR
    base = (args.dir or Path(tempfile.mkdtemp(prefix="dagster-livy-fixedcost-"))).resolve()
    base.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SPARK_DRIVER_MEMORY", args.driver_memory)
    env = spark_env(base)
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    conf = Path(env["SPARK_CONF_DIR"]) / "spark-defaults.conf"
    (base / "eventlog").mkdir(exist_ok=True)
    with open(conf, "a") as f:  # one plain JSON event log per application (app_profile reads it)
        f.write(f"\nspark.eventLog.dir file://{base / 'eventlog'}\nspark.eventLog.compress false\n"
                "spark.eventLog.rolling.enabled false\n")
    spark_home = Path(env["SPARK_HOME"])
    sys.path.insert(0, str(REPO))
    from dagster_livy.packaging import package_zip

    zip_path = package_zip(base, REPO / "spark_scripts" / "lakehouse_jobs")
    variants = args.variants.split(",")
    kinds = args.kinds.split(",")
    results: dict[tuple[str, str, str], list[dict]] = {}
    for size in args.sizes.split(","):
        date, views = SIZES[size]
        marker = base / f"silver-{date}"
        if not marker.exists():
            print(f"[fixedcost] silver {size} {date} ...", file=sys.stderr, flush=True)
            subprocess.run([str(spark_home / "bin" / "spark-submit"), "--master", "local[*]", "--py-files",
                            str(zip_path), str(GEN_SCRIPT), "--date", date, "--page-views-per-day", str(views),
                            "--dirty-share", "0.02"], env=env, check=True, cwd=base,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            marker.touch()
        for r in range(args.runs):
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            for v in order:
                for kind in (kinds if r % 2 == 0 else kinds[::-1]):
                    res = run_one(spark_home, env, shlex.split(VARIANTS[v]), kind, date, base, zip_path)
                    results.setdefault((size, v, kind), []).append(res)
                    print(f"[fixedcost {time.strftime('%H:%M:%S')}] {size} round {r + 1} {v:10} {kind:5} "
                          f"job {res['job']:6.2f} s  wall {res['wall']:6.2f} s  cpu {res['cpu']:6.2f} s  "
                          f"jobs {res['jobs']}  exec cpu {res['ecpu']}  load {res['load']:.1f}",
                          file=sys.stderr, flush=True)
    rows = []
    for (size, v, kind), rs in results.items():
        med = lambda k: statistics.median(x[k] for x in rs if x[k] is not None)  # noqa: E731
        rows.append([size, v, kind, str(len(rs)), f"{med('job'):.2f}", f"{med('wall'):.2f}", f"{med('cpu'):.2f}",
                     f"{med('ecpu'):.2f}", str(rs[0]['jobs']), f"{med('pre'):.1f}", f"{med('injobs'):.1f}",
                     f"{med('gaps'):.1f}", f"{min(x['load'] for x in rs):.1f}-"
                     f"{max(x['load'] for x in rs):.1f}",
                     " ".join(f"{x['job']:.1f}" for x in rs)])
    head = ["size", "variant", "kind", "n", "job s", "wall s", "tree cpu s", "exec cpu s", "jobs", "pre s",
            "in jobs s", "gaps s", "load1", "job s per run"]
    # What every variant starts from: a rendered CDS archive or SPARK_JVM_OPTIONS applies to all of
    # them unless a variant overrides it (--driver-java-options replaces spark.driver.extraJavaOptions).
    rendered = [line for line in conf.read_text().splitlines() if line.startswith("spark.driver.extra")]
    text = (f"fixedcost {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} dir {base}\n"
            f"  spark-defaults: {'; '.join(rendered) or 'no driver extraJavaOptions/extraClassPath'}\n"
            + "\n".join(f"  {v}: {VARIANTS[v] or '(rendered spark-defaults only)'}" for v in variants) + "\n"
            + format_table(head, rows) + "\n"
            + "  job = GOLD/FLOOR duration_s (in the driver, session up -> done); tree cpu = user+sys of the spark-submit\n"
            "  process tree (wait4); exec cpu = executor CPU over tasks (event log); pre = SparkContext up -> first Spark\n"
            "  job, in jobs = the union of the jobs' spans, gaps = first job -> last job minus that (event log clock);\n"
            "  load1 = 1-minute load average at each run's start (2 CPUs; others' Spark included)\n")
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
