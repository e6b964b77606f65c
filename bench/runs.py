"""One measured run of each kind: silver through Livy, a gold job through Dagster, plain spark-submit.

Nothing of dagster_livy.lakehouse.definitions is imported at module level: its resources (the
Livy URL, LIVY_MAX_WAIT_S) are built from the environment when it is imported, so
`point_dagster_at` must set that environment first.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from bench.report import progress
from bench.stack import REPO, BenchStack
from dagster_livy import LivyBatchFailedError, LivyError, LivyTimeoutError
from dagster_livy.lakehouse.settings import SCRIPTS_DIR

GOLD_SCRIPT = SCRIPTS_DIR / "batch_customer_analytics.py"
QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def point_dagster_at(stack: BenchStack, max_wait_s: float) -> None:
    """Before importing the lakehouse definitions (their resources read LIVY_URL and
    LIVY_MAX_WAIT_S then; the assets read the staging and lakehouse dirs at run time)."""
    os.environ["LIVY_URL"] = stack.url
    os.environ["LIVY_STAGING_DIR"] = str(stack.staging_dir)
    os.environ["LAKEHOUSE_DIR"] = str(stack.lakehouse_dir)
    os.environ["LIVY_MAX_WAIT_S"] = str(int(max_wait_s))
    os.environ.pop("LIVY_SCRIPTS_URI", None)
    os.environ.pop("LIVY_RUN_DIR", None)


def failure_reason(exc: BaseException | str) -> str:
    """One line saying why a batch/run failed (OOM and timeouts named plainly)."""
    text = str(exc)
    if isinstance(exc, LivyBatchFailedError):
        text = "\n".join(exc.log_tail) + "\n" + text
    for pattern, reason in ((r"OutOfMemoryError[^\n]*", None), (r"GC overhead limit[^\n]*", None),
                            (r"Killed|exit code 137|signal 9", "killed (SIGKILL: out of memory?)")):
        m = re.search(pattern, text)
        if m:
            return reason or m.group(0).strip()[:160]
    if isinstance(exc, LivyTimeoutError) or re.search(r"still \w+ after \d+s; deleting it", text):
        first = text.strip().splitlines()[0] if text.strip() else "timeout"
        return f"time budget exceeded: {first[:160]}"
    lines = [l.strip() for l in text.splitlines() if re.search(r"(Error|Exception)\b", l)]
    return (lines[-1] if lines else (text.strip().splitlines() or ["failed"])[-1])[:200]


# ---------------------------------------------------------------- silver

@dataclass
class SilverRun:
    date: str
    page_views_per_day: int
    wall_s: float
    counts: dict[str, int] = field(default_factory=dict)  # silver table -> rows of the date
    error: str | None = None
    peak_rss_gib: float | None = None


def generate_silver(stack: BenchStack, date: str, page_views: int, *, seed: int, dirty_share: float,
                    max_wait_s: float, rss_root: int | None = None, end: str | None = None) -> SilverRun:
    """Silver for `date` (or the range date..end) through one Livy batch of generate_silver.py."""
    from dagster_livy.lakehouse import testing
    from dagster_livy.lakehouse.settings import LakehouseSettings

    from bench.stack import PeakRss

    run = SilverRun(date=date, page_views_per_day=page_views, wall_s=0.0)

    def lines(ls: list[str]) -> None:
        run.counts = testing.silver_counts(ls) or run.counts

    began = time.monotonic()
    with PeakRss(rss_root) as rss:
        try:
            testing.generate_silver(stack.url, LakehouseSettings.from_env(), start=date, end=end or date,
                                    page_views_per_day=page_views, seed=seed, dirty_share=dirty_share,
                                    name=f"bench-silver-{date}-{uuid.uuid4().hex[:8]}",
                                    max_wait_s=max_wait_s, on_lines=lines)
        except LivyError as exc:
            run.error = failure_reason(exc)
    run.wall_s = time.monotonic() - began
    run.peak_rss_gib = rss.peak_gib if rss_root else None
    return run


# ---------------------------------------------------------------- Dagster -> Livy

@dataclass
class JobRun:
    wall_s: float
    success: bool
    others: float | None = None         # CPU share used by other processes during the run
    livy_batch_s: float | None = None   # BatchRunner: submit accepted -> end seen and log drained
    spark_job_s: float | None = None    # inside the driver: read silver -> write gold -> checks
    rows: int | None = None
    checks: str = "-"
    batch_name: str | None = None
    app_id: str | None = None           # the Spark application (its event log, when enabled)
    retries: int = 0
    error: str | None = None
    peak_rss_gib: float | None = None


def no_retry_pipes(livy_resource):
    """A PipesLivyClient whose Livy errors (timeout, OOM) fail the step without the asset's
    RetryPolicy: a budget overrun must not be retried for another budget. Same code path
    otherwise."""
    from dagster_livy.pipes import PipesLivyClient

    class NoRetryPipesLivyClient(PipesLivyClient):
        def run(self, **kwargs):
            try:
                return super().run(**kwargs)
            except LivyError as exc:
                raise dg.Failure(description=failure_reason(exc), allow_retries=False) from exc

    return NoRetryPipesLivyClient(livy=livy_resource)


def run_gold_job(job: dg.JobDefinition, instance: dg.DagsterInstance, date: str, *,
                 resources: dict | None = None, rss_root: int | None = None,
                 livy_pid: int | None = None) -> JobRun:
    from bench.stack import OthersCpu, PeakRss

    began = time.monotonic()
    with PeakRss(rss_root) as rss, OthersCpu([os.getpid(), livy_pid]) as others:
        result = job.execute_in_process(
            partition_key=date, instance=instance, raise_on_error=False, run_config=QUIET_LOGGERS,
            **({"resources": resources} if resources else {}))
    run = JobRun(wall_s=time.monotonic() - began, success=result.success, others=others.share)
    run.peak_rss_gib = rss.peak_gib if rss_root else None
    from dagster_livy.lakehouse.testing import materialization_metadata

    for _, md in materialization_metadata(result.all_events):
        run.livy_batch_s = md.get("livy_duration_s")
        run.spark_job_s = md.get("duration_s")
        run.rows = md.get("dagster/row_count")
        run.batch_name = md.get("livy_batch_name")
        run.app_id = md.get("spark_application_id")
    for event in result.all_events:
        kind = event.event_type_value
        if kind == "STEP_RESTARTED":
            run.retries += 1
        elif kind == "STEP_FAILURE" and run.error is None:
            err = event.step_failure_data.error
            text = (err.message if err else "") + "\n" + str(err or "")
            cause = err.cause if err else None
            while cause is not None:
                text += "\n" + cause.message
                cause = cause.cause
            run.error = failure_reason(text)
    evals = result.get_asset_check_evaluations()
    if evals:
        run.checks = f"{sum(e.passed for e in evals)}/{len(evals)}"
    return run


# ---------------------------------------------------------------- plain spark-submit

@dataclass
class SubmitRun:
    wall_s: float
    success: bool
    others: float | None = None         # CPU share used by other processes during the run
    spark_job_s: float | None = None
    rows: int | None = None
    checks: str = "-"
    error: str | None = None


def spark_submit_gold(stack: BenchStack, zip_path: Path, date: str, log_path: Path,
                      livy_pid: int | None = None) -> SubmitRun:
    from bench.stack import OthersCpu

    """The venv's pyspark bin/spark-submit, with the bench Livy's SPARK_CONF_DIR (same
    spark-defaults: Iceberg catalog, driver memory, shuffle partitions) and the same pyFiles zip."""
    cmd = [str(stack.spark_home / "bin" / "spark-submit"), "--master", "local[*]",
           "--name", f"bench-submit-{date}", "--py-files", str(zip_path), str(GOLD_SCRIPT), "--date", date]
    began = time.monotonic()
    with open(log_path, "w") as log, OthersCpu([os.getpid(), livy_pid]) as others:
        proc = subprocess.run(cmd, env=stack.spark_env(), stdout=subprocess.PIPE, stderr=log,
                              stdin=subprocess.DEVNULL, text=True, cwd=stack.run_dir)
    run = SubmitRun(wall_s=time.monotonic() - began, success=proc.returncode == 0, others=others.share)
    with open(log_path, "a") as log:
        log.write(proc.stdout)
    m = re.search(r"^GOLD .*?rows=(\d+).*?checks=(\d+/\d+) passed.*?duration_s=([\d.]+)", proc.stdout, re.M)
    if m:
        run.rows, run.checks, run.spark_job_s = int(m.group(1)), m.group(2), float(m.group(3))
    if not run.success:
        run.error = failure_reason(log_path.read_text(errors="replace")[-20000:])
        progress(f"spark-submit failed ({proc.returncode}); log: {log_path}")
    return run


# ---------------------------------------------------------------- the plain-Spark floor and the generator

FLOOR_SCRIPT = REPO / "bench" / "floor.py"
GENBENCH_SCRIPT = REPO / "bench" / "genbench.py"


@dataclass
class FloorRun:
    wall_s: float
    success: bool
    job_s: float | None = None      # inside the driver: session up -> parquet written
    rows: int | None = None
    app_id: str | None = None
    error: str | None = None


def _submit(stack: BenchStack, args: list[str], log_path: Path, name: str) -> tuple[subprocess.CompletedProcess, float]:
    cmd = [str(stack.spark_home / "bin" / "spark-submit"), "--master", "local[*]", "--name", name, *args]
    began = time.monotonic()
    with open(log_path, "w") as log:
        proc = subprocess.run(cmd, env=stack.spark_env(), stdout=subprocess.PIPE, stderr=log,
                              stdin=subprocess.DEVNULL, text=True, cwd=stack.run_dir)
    wall = time.monotonic() - began
    with open(log_path, "a") as log:
        log.write(proc.stdout)
    return proc, wall


def spark_submit_floor(stack: BenchStack, date: str, log_path: Path) -> FloorRun:
    """bench/floor.py through the venv's spark-submit, with the bench Livy's spark-defaults."""
    out = stack.run_dir / "floor-out" / date
    proc, wall = _submit(stack, [str(FLOOR_SCRIPT), "--date", date, "--out", str(out)], log_path,
                         f"bench-floor-{date}")
    run = FloorRun(wall_s=wall, success=proc.returncode == 0)
    m = re.search(r"^FLOOR .*?rows=(\d+) duration_s=([\d.]+) app=(\S+)", proc.stdout, re.M)
    if m:
        run.rows, run.job_s, run.app_id = int(m.group(1)), float(m.group(2)), m.group(3)
    if not run.success:
        run.error = failure_reason(log_path.read_text(errors="replace")[-20000:])
    return run


@dataclass
class GenRun:
    wall_s: float
    success: bool
    range_s: list[float] = field(default_factory=list)
    gen_s: list[float] = field(default_factory=list)
    error: str | None = None


def spark_submit_genbench(stack: BenchStack, zip_path: Path, date: str, page_views: int, pairs: int,
                          log_path: Path, *, seed: int, dirty_share: float) -> GenRun:
    """bench/genbench.py: the generator's page views against spark.range rows, same writes."""
    proc, wall = _submit(stack, ["--py-files", str(zip_path), str(GENBENCH_SCRIPT), "--date", date,
                                 "--page-views", str(page_views), "--pairs", str(pairs), "--seed", str(seed),
                                 "--dirty-share", str(dirty_share)], log_path, f"bench-genbench-{date}")
    run = GenRun(wall_s=wall, success=proc.returncode == 0)
    for kind, s in re.findall(r"^GENBENCH pair=\d+ kind=(\w+) rows=\d+ s=([\d.]+)", proc.stdout, re.M):
        (run.range_s if kind == "range" else run.gen_s).append(float(s))
    if not run.success:
        run.error = failure_reason(log_path.read_text(errors="replace")[-20000:])
    return run


# ---------------------------------------------------------------- Spark event logs

def enable_event_log(stack: BenchStack, directory: Path) -> None:
    """Every Spark application of the bench (Livy batches, spark-submits) writes its event log to
    `directory`: spark-submit reads SPARK_CONF_DIR/spark-defaults.conf at each start, so lines
    appended to the bench Livy's rendered copy apply from the next batch on."""
    directory.mkdir(parents=True, exist_ok=True)
    conf = stack.spark_conf_dir / "spark-defaults.conf"
    with open(conf, "a") as f:
        f.write(f"\n# bench: event logs for the profile columns\nspark.eventLog.enabled true\n"
                f"spark.eventLog.dir file://{directory}\n"
                # one plain JSON file per application, as app_profile reads it (the rendered defaults
                # compress and roll event logs for the History Server; a later line wins)
                "spark.eventLog.compress false\nspark.eventLog.rolling.enabled false\n")


def app_profile(directory: Path, app_id: str | None) -> dict | None:
    """Jobs and stages (run, not skipped) of one application's event log, the executor seconds its
    tasks took (summed over cores) and their CPU seconds: on a machine others load, task seconds
    include waiting for a core, CPU seconds do not."""
    if not app_id or not directory.exists():
        return None
    paths = [p for p in directory.iterdir() if p.name.startswith(app_id)]
    if not paths:
        return None
    jobs = stages = 0
    run_ms = cpu_ns = 0
    for line in paths[0].read_text(errors="replace").splitlines():
        if '"SparkListenerJobStart"' in line:
            jobs += 1
        elif '"SparkListenerStageCompleted"' in line:
            stages += 1
            for acc in json.loads(line)["Stage Info"].get("Accumulables", []):
                if acc.get("Name") == "internal.metrics.executorRunTime":
                    run_ms += int(acc.get("Value") or 0)
                elif acc.get("Name") == "internal.metrics.executorCpuTime":
                    cpu_ns += int(acc.get("Value") or 0)
    return {"jobs": jobs, "stages": stages, "task_s": run_ms / 1000, "cpu_s": cpu_ns / 1e9}
