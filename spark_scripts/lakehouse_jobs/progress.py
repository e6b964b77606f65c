"""Spark job and stage progress, reported from the driver while the work runs.

A batch that runs for minutes would otherwise show nothing in the Dagster log between
"running" and its end. `report_progress` polls Spark's status tracker on a daemon thread and
reports what changed through the Pipes context's log (`pipes.log.info`), which Dagster shows in
the step's log as the lines arrive:

    Spark job 3 stage 5 (count at gold.py:42): 12/40 tasks done, 4 running
    Spark job 3 succeeded

    with report_progress(spark, pipes):
        result = run_gold_job(spark, ...)

Nothing is reported when nothing changed; the thread stops (and reports the last changes) when
the block exits, before the caller reports its results. Reporting never fails the job.
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import Iterator

EVERY_S = 3.0


@contextmanager
def report_progress(spark, pipes, every_s: float = EVERY_S) -> Iterator["ProgressReporter"]:
    """Report Spark job/stage progress through `pipes.log` every `every_s` seconds while the
    block runs (`pipes` may be cli.NoPipes, the no-op of a standalone run)."""
    reporter = ProgressReporter(spark.sparkContext.statusTracker(), pipes.log, every_s)
    reporter.start()
    try:
        yield reporter
    finally:
        reporter.stop()


class ProgressReporter:
    """Polls a pyspark StatusTracker; `poll()` logs the stages and jobs that changed since the
    last poll. `start()`/`stop()` run it on a daemon thread."""

    def __init__(self, tracker, log, every_s: float = EVERY_S) -> None:
        if every_s <= 0:
            raise ValueError(f"report_progress: every_s must be > 0, got {every_s}")
        self._tracker = tracker
        self._log = log
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # the thread's polls and the final one from stop()
        self._stages: dict[tuple[int, int], tuple] = {}  # (job, stage) -> last reported figures
        self._jobs: set[int] = set()  # jobs seen active, not yet reported as ended
        self._failed = False
        self.reported = 0  # messages logged

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="spark-progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and report what changed since its last poll."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._every_s + 30)
            if self._thread.is_alive():
                return  # stuck in a call into Spark: a progress line never holds the job up
        self.poll()

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            self.poll()

    def poll(self) -> None:
        with self._lock:
            if self._failed:
                return
            try:
                lines = self._changes()
            except Exception as exc:  # noqa: BLE001  Spark stopping under us: stop reporting, never fail the job
                self._failed = True
                print(f"spark progress reporting stopped: {exc!r}"[:300], file=sys.stderr, flush=True)
                return
            if lines:
                self._log.info("\n".join(lines))
                self.reported += 1
                sys.stdout.flush()  # Pipes' stdout channel does not flush: Livy must see the line now

    def _changes(self) -> list[str]:
        tracker = self._tracker
        active_jobs = set(tracker.getActiveJobsIds())
        active_stages = set(tracker.getActiveStageIds())
        lines = []
        for job_id in sorted(active_jobs):
            job = tracker.getJobInfo(job_id)
            if job is None:
                continue
            self._jobs.add(job_id)
            for stage_id in sorted(s for s in job.stageIds if s in active_stages):
                stage = tracker.getStageInfo(stage_id)
                if stage is None:
                    continue
                figures = (stage.currentAttemptId, stage.numTasks, stage.numCompletedTasks,
                           stage.numActiveTasks, stage.numFailedTasks)
                if self._stages.get((job_id, stage_id)) != figures:
                    self._stages[(job_id, stage_id)] = figures
                    lines.append(stage_line(job_id, stage))
        for job_id in sorted(self._jobs - active_jobs):
            self._jobs.discard(job_id)
            job = tracker.getJobInfo(job_id)
            status = str(job.status).lower() if job is not None else ""
            lines.append(f"Spark job {job_id} {status if status in ('succeeded', 'failed') else 'ended'}")
        return lines


def stage_line(job_id: int, stage) -> str:
    """"Spark job 3 stage 5 (count at gold.py:42): 12/40 tasks done, 4 running[, 1 failed]"."""
    attempt = f" attempt {stage.currentAttemptId + 1}" if stage.currentAttemptId else ""
    line = (f"Spark job {job_id} stage {stage.stageId}{attempt} ({short_stage_name(stage.name)}): "
            f"{stage.numCompletedTasks}/{stage.numTasks} tasks done, {stage.numActiveTasks} running")
    if stage.numFailedTasks:
        line += f", {stage.numFailedTasks} failed"
    return line


def short_stage_name(name: str) -> str:
    """"count at /tmp/x/gold.py:42" -> "count at gold.py:42"; a JVM call site says nothing to a
    PySpark user ("save at NativeMethodAccessorImpl.java:0" -> "save")."""
    what, _, where = (name or "?").partition(" at ")
    if not where or ".java:" in where or ".scala:" in where:
        return what
    return f"{what} at {where.rsplit('/', 1)[-1]}"
