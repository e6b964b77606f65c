"""Spark jobs under lakehouse_jobs.progress.report_progress, for the progress test.

The last job's first task holds until the file named by the Pipes extra `release_file` exists:
the test creates it once it has seen a progress line in the Dagster event log, so the batch
cannot end before progress reached Dagster (a line delivered only at the end never releases it,
and the task gives up after `hold_s` and fails the batch).
"""
import os
import time

from dagster_pipes import PipesCliArgsParamsLoader, open_dagster_pipes
from lakehouse_jobs.progress import report_progress
from pyspark.sql import SparkSession


def hold_or_pass(index: int, release: str, hold_s: float) -> int:
    if index != 0:
        return index
    deadline = time.monotonic() + hold_s
    while not os.path.exists(release):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no release after {hold_s}s: progress never reached Dagster")
        time.sleep(0.2)
    return index


with open_dagster_pipes(params_loader=PipesCliArgsParamsLoader()) as pipes:
    release, hold_s = pipes.get_extra("release_file"), float(pipes.get_extra("hold_s"))
    spark = SparkSession.builder.appName("progress_job").getOrCreate()
    try:
        with report_progress(spark, pipes, every_s=0.5) as reporter:
            sc = spark.sparkContext
            pairs = sc.parallelize(range(100), 3).map(lambda x: (x % 5, x))
            total = pairs.reduceByKey(lambda a, b: a + b, numPartitions=3).count()  # two stages of 3 tasks
            held = sc.parallelize(range(5), 5).map(lambda i: hold_or_pass(i, release, hold_s)).sum()
        pipes.report_asset_materialization(metadata={"keys": total, "held_sum": held,
                                                     "progress_messages": reporter.reported})
    finally:
        spark.stop()
