"""Section 4: the pyspark-livy kernel's start-to-first-result vs a local ipykernel + local Spark.

Both sides go through jupyter_client as Jupyter does: start the kernel, wait for kernel_info,
run the first Spark statement. The Livy side's kernel starts with `spark` defined (the batch's
driver); the local side's first cell creates a local[*] SparkSession with the same
SPARK_CONF_DIR and environment Livy gives its batches. Interleaved, the order alternating.
"""

from __future__ import annotations

import os
import time

from bench.context import Context
from bench.report import fmt, median, progress
from bench.stack import wait_quiet

FIRST = "spark.range(1000).count()"
LOCAL_FIRST = ("from pyspark.sql import SparkSession\n"
               "spark = SparkSession.builder.master('local[*]').getOrCreate()\n" + FIRST)


def _one(kernel_name: str, code: str, env: dict[str, str]) -> dict[str, float]:
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name=kernel_name)
    t0 = time.monotonic()
    km.start_kernel(env=env)
    try:
        started = time.monotonic()
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=300)
        ready = time.monotonic()
        reply = kc.execute_interactive(code, timeout=600)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{kernel_name}: first cell failed: {reply['content'].get('evalue')}")
        first = time.monotonic()
        kc.stop_channels()
    finally:
        stop0 = time.monotonic()
        km.shutdown_kernel()
        stopped = time.monotonic()
    return {"start": started - t0, "ready": ready - t0, "first": first - t0, "shutdown": stopped - stop0}


def run(ctx: Context) -> None:
    from dagster_livy.jupyter.kernelspec import install

    install()
    args = ctx.args
    runs = max(1, min(args.runs, 3))  # each Livy kernel is a whole Spark driver: 3 pairs are plenty
    livy_env = {**os.environ, "LIVY_URL": ctx.stack.url, "LIVY_STAGING_DIR": str(ctx.stack.staging_dir)}
    local_env = ctx.stack.spark_env()
    sides = {"pyspark-livy (Livy batch)": ("pyspark-livy", FIRST, livy_env),
             "python3 + local SparkSession": ("python3", LOCAL_FIRST, local_env)}
    results: dict[str, list[dict[str, float]]] = {k: [] for k in sides}
    for i in range(runs):
        order = list(sides) if i % 2 == 0 else list(reversed(sides))
        for label in order:
            wait_quiet(args.quiet_wait)
            progress(f"section 4: {label}, run {i + 1}/{runs} ...")
            results[label].append(_one(*sides[label]))
    rows = []
    for label, rs in results.items():
        rows.append([label, str(len(rs)), fmt(median(r["start"] for r in rs)), fmt(median(r["ready"] for r in rs)),
                     fmt(median(r["first"] for r in rs)), fmt(max(r["first"] for r in rs)),
                     fmt(median(r["shutdown"] for r in rs))])
    livy_first = median(r["first"] for r in results["pyspark-livy (Livy batch)"])
    local_first = median(r["first"] for r in results["python3 + local SparkSession"])
    ctx.report.table(
        f"4. Kernel start to first result: `{FIRST}` (median of {runs}, interleaved)",
        ["kernel", "runs", "start_kernel s", "ready s", "first result s", "max", "shutdown s"], rows,
        [f"ratio of medians (Livy kernel / local): {livy_first / local_first:.2f}x" if local_first else "",
         "start_kernel = KernelManager.start_kernel() returned (Livy: batch submitted, driver up, SparkSession "
         "created, kernel reported back); ready = kernel_info answered; first result = the cell's reply "
         "(local: includes creating its SparkSession); all from the start_kernel call",
         "shutdown = shutdown_kernel() (Livy: the batch ends `success`, then is deleted)"])
