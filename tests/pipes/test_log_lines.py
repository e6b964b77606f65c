"""The human-facing lines: batch events named by what they compute, Pipes bootstrap arguments
left out, Spark progress lines (pure functions; the real-stack proof is
tests/integration/test_pipes_progress.py)."""

from pyspark.status import SparkStageInfo

from dagster_livy.resource import _label, _shorten, _shown_args
from lakehouse_jobs.progress import short_stage_name, stage_line

NAME = "gold__daily_sales_summary--2026-10-30--3f2a9c1d-r1"
EARLIER = "gold__daily_sales_summary--2026-10-30--3f2a9c1d"
URL = "http://127.0.0.1:8998/batches/"
LABEL = _label(["gold__daily_sales_summary", "2026-10-30"])


def short(message: str) -> str:
    return _shorten(message, NAME, [EARLIER], LABEL)


def test_batch_events_name_what_the_batch_computes():
    assert LABEL == "gold/daily_sales_summary 2026-10-30"
    assert short(f"Submitted Livy batch {NAME} (id 12): {URL}{NAME}") == (
        "Submitted Livy batch 12 (gold/daily_sales_summary 2026-10-30)")
    assert short(f"Livy batch {NAME}: starting -> running") == (
        "Livy batch for gold/daily_sales_summary 2026-10-30: starting -> running")
    # The earlier attempt's name is a prefix of this attempt's: each is recognised as itself.
    assert short(f"Reattached to running Livy batch {EARLIER} (id 3): {URL}{EARLIER}") == (
        "Reattached to running Livy batch 3 (gold/daily_sales_summary 2026-10-30, earlier attempt)")
    assert short(f"Deleted Livy batch {NAME} (run interrupted or gave up)") == (
        "Deleted Livy batch for gold/daily_sales_summary 2026-10-30 (run interrupted or gave up)")
    assert short("Livy server answered 503; retrying") == "Livy server answered 503; retrying"


def test_pipes_bootstrap_arguments_are_counted_not_shown():
    args = ["--start", "2026-10-30", "--dagster-pipes-context", "eJy" + "A" * 400,
            "--dagster-pipes-messages=eJyB", "--end", "2026-10-31"]
    assert _shown_args(args) == (["--start", "2026-10-30", "--end", "2026-10-31"], 2)
    assert _shown_args(["--date", "2026-10-30"]) == (["--date", "2026-10-30"], 0)


def test_spark_progress_lines():
    stage = SparkStageInfo(stageId=5, currentAttemptId=0, name="count at /tmp/spark-1a2b/gold.py:42",
                           numTasks=40, numActiveTasks=4, numCompletedTasks=12, numFailedTasks=0)
    assert stage_line(3, stage) == "Spark job 3 stage 5 (count at gold.py:42): 12/40 tasks done, 4 running"
    retried = stage._replace(currentAttemptId=1, numFailedTasks=2, name="save at NativeMethodAccessorImpl.java:0")
    assert stage_line(3, retried) == "Spark job 3 stage 5 attempt 2 (save): 12/40 tasks done, 4 running, 2 failed"
    assert short_stage_name("") == "?" and short_stage_name("collect") == "collect"
