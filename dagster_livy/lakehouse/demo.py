"""`make demo`: the lakehouse end to end on the real local stack.

Starts Livy (unless one already answers), generates silver for the last few UTC days through a
Livy batch, materializes every gold partition through Dagster + Pipes + Livy, runs the freshness
checks, prints a summary table read back from Iceberg with pyiceberg, and stops what it started.

    python -m dagster_livy.lakehouse.demo [--days 3] [--page-views-per-day 20000] [--dirty-share 0.02]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from collections import defaultdict
from decimal import Decimal

import dagster as dg

from dagster_livy.env import livy_url
from dagster_livy.lakehouse import testing
from dagster_livy.lakehouse.settings import PROJECT_DIR, LakehouseSettings, build_resources
from dagster_livy.lakehouse.silver import report_silver
from lakehouse_jobs.tables import GOLD_TABLES

# The local stack is the checkout's (`make demo`); from an installed wheel, set LIVY_URL.
LIVYCTL = [sys.executable, str(PROJECT_DIR / "livy" / "livyctl.py")]
DEFINITIONS_MODULE = "dagster_livy.lakehouse.definitions"


def say(msg: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def local_livy_state() -> int:
    """`livyctl check`: 0 this checkout's Livy answers, 3 none does; otherwise another server holds
    the port and livyctl has said whose it is and what to do (on stderr)."""
    return subprocess.run([*LIVYCTL, "check"]).returncode


def generate_silver(url: str, settings: LakehouseSettings, start: dt.date, end: dt.date, args) -> None:
    result = testing.generate_silver(
        url, settings, start=start, end=end, page_views_per_day=args.page_views_per_day, seed=args.seed,
        dirty_share=args.dirty_share, name=f"demo-silver-{time.strftime('%Y%m%dT%H%M%S')}",
        on_event=say, on_lines=lambda ls: [say(line) for line in ls if line.startswith("SILVER ")])
    say(f"silver ready in {result.duration_s:.0f}s")


def code_location_name() -> str:
    """The name `dagster dev` gives this code location (pyproject's [tool.dagster])."""
    import tomllib

    try:
        with open(PROJECT_DIR / "pyproject.toml", "rb") as f:
            return tomllib.load(f)["tool"]["dagster"]["code_location_name"]
    except (OSError, KeyError):
        return "lakehouse"


def run_job(name: str, instance: dg.DagsterInstance, start: str, end: str) -> "DemoRun":
    """Run a job of the code location as the UI's Launch button would, and wait for it.

    `execute_in_process` leaves a run without a code-location origin, so the UI's job pages and
    the timeline (which filter on the run's repository, `.dagster/repository`) never show it. Here
    the run is created from the code location's view of the job (like `dagster job launch`), with
    both origins set, and executed in this process with the job's own executor.
    """
    from dagster._utils.hosted_user_process import recon_job_from_origin
    from dagster._core.execution.api import execute_run
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.definitions.selector import JobSubsetSelector
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, module_name=DEFINITIONS_MODULE,
                             working_directory=os.getcwd()),
        location_name=code_location_name())
    tags = {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end,
            "demo": "make demo"}
    with origin.create_location(instance) as location:
        repo = next(iter(location.get_repositories().values()))
        remote_job = location.get_job(JobSubsetSelector(
            location_name=location.name, repository_name=repo.name, job_name=name, op_selection=None))
        plan = location.get_execution_plan(remote_job, {}, step_keys_to_execute=None, known_state=None,
                                           instance=instance)
        run = instance.create_run(
            job_name=name, run_id=None, run_config={}, resolved_op_selection=None, step_keys_to_execute=None,
            op_selection=None, status=None, root_run_id=None, parent_run_id=None,
            tags={**remote_job.tags, **tags}, job_snapshot=remote_job.job_snapshot,
            execution_plan_snapshot=plan.execution_plan_snapshot,
            parent_job_snapshot=remote_job.parent_job_snapshot,
            remote_job_origin=remote_job.get_remote_origin(), job_code_origin=remote_job.get_python_origin(),
            asset_selection=None, asset_check_selection=None, asset_graph=repo.asset_graph)
        execute_run(recon_job_from_origin(run.job_code_origin), run, instance)
    return DemoRun(instance, run.run_id)


class DemoRun:
    """A finished run read back from the instance: its status and its Dagster events."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str):
        self.run_id = run_id
        self.success = instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
        self.all_events = [e.dagster_event for e in instance.all_logs(run_id) if e.dagster_event]


def summarize(result, settings: LakehouseSettings, dates: list[str]) -> tuple[list[list[str]], bool]:
    """Rows per (table, date) read back from Iceberg, with the run's checks and batches."""
    md, checks = testing.materializations(result.all_events), defaultdict(lambda: [0, 0])
    for e in result.all_events:
        if e.event_type_value == "ASSET_CHECK_EVALUATION":
            d = e.event_specific_data
            counts = checks[".".join(d.asset_key.path)]
            counts[0] += int(d.passed)
            counts[1] += 1
    catalog = settings.catalog()
    rows, revenue_by_date = [], defaultdict(set)
    for table in GOLD_TABLES:
        arrow = catalog.load_table(table).scan().to_arrow()
        per_date: dict[str, list] = defaultdict(lambda: [0, Decimal("0")])
        for d, rev in zip(arrow.column("date").to_pylist(), arrow.column("revenue").to_pylist()):
            per_date[d.isoformat()][0] += 1
            per_date[d.isoformat()][1] += rev or Decimal("0")
        meta = md.get(table, {})
        passed, total = checks.get(table, [0, 0])
        for d in dates:
            n, rev = per_date.get(d, [0, Decimal("0")])
            revenue_by_date[d].add(rev)
            rows.append([table, d, str(n), f"{rev:,.2f}", f"{passed}/{total}",
                         f"{meta.get('livy_duration_s', 0):.0f}s", str(meta.get("livy_batch_name", "-"))])
    consistent = all(len(v) == 1 for v in revenue_by_date.values())
    return rows, consistent


def cluster_summary(result, master_ui: str) -> str:
    """Where the gold batches ran: their Spark applications (reported by the drivers through
    Pipes) and the executors the standalone workers ran for them (the workers' JSON status)."""
    import json
    import urllib.request

    def get(url: str) -> dict:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return json.load(resp)

    apps, master = set(), "?"
    for _, md in testing.materialization_metadata(result.all_events):
        if md.get("spark_application_id"):
            apps.add(md["spark_application_id"])
            master = md.get("spark_master", master)
    try:
        workers = get(master_ui.rstrip("/") + "/json/")["workers"]
        executors = {}
        for w in workers:
            status = get(w["webuiaddress"].rstrip("/") + "/json/")
            for ex in status.get("executors", []) + status.get("finishedexecutors", []):
                if ex.get("appid") in apps:
                    executors.setdefault(w["id"], 0)
                    executors[w["id"]] += 1
    except (OSError, KeyError, ValueError) as exc:
        return f"ran on {master}: {len(apps)} Spark application(s) (executors unknown: {exc})"
    return (f"ran on the cluster {master} (UI {master_ui}): {len(apps)} Spark application(s), "
            f"{sum(executors.values())} executor(s) on {len(executors)} of {len(workers)} worker(s)")


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    print("\n" + line + "\n" + "-" * len(line))
    for r in rows:
        print("  ".join(c.rjust(w) if c[:1].isdigit() else c.ljust(w) for c, w in zip(r, widths)))
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=3, help="how many UTC days, ending yesterday")
    parser.add_argument("--page-views-per-day", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirty-share", type=float, default=0.02)
    args = parser.parse_args(argv)

    began = time.monotonic()
    settings = LakehouseSettings.from_env()
    url = livy_url()  # the same rule livyctl uses: LIVY_URL, else LIVY_HOST:LIVY_PORT
    started_livy = False
    if url == livy_url({k: v for k, v in os.environ.items() if k != "LIVY_URL"}):
        # The local stack: use a server only if it is this checkout's (never write into another
        # checkout's lakehouse), else start one.
        if not os.path.exists(LIVYCTL[1]):
            say(f"FAILED: no {LIVYCTL[1]}: the local Livy is started from a checkout (`make demo`); "
                "with an installed package, set LIVY_URL to a running Livy")
            return 2
        state = local_livy_state()
        if state not in (0, 3):
            say("FAILED: the Livy on this port is not this checkout's (see above)")
            return 2
        if state == 3:
            say("starting Livy ...")
            subprocess.run([*LIVYCTL, "up"], check=True)
            started_livy = True
    else:
        say(f"using LIVY_URL={url} (not the local stack: its owner is not checked)")
    try:
        end = build_resources()["clock"].today() - dt.timedelta(days=1)  # LAKEHOUSE_NOW pins it
        start = end - dt.timedelta(days=args.days - 1)
        dates = [(start + dt.timedelta(days=i)).isoformat() for i in range(args.days)]
        say(f"generating silver for {start}..{end} ({args.page_views_per_day:,} page views/day)")
        generate_silver(url, settings, start, end, args)

        instance = dg.DagsterInstance.get()
        observed = report_silver(instance, settings.catalog())
        say(f"silver reported to Dagster: {len(observed)} partition observation(s) "
            f"({sum(p.rows for p in observed if p.date in dates):,} rows in {start}..{end})")
        say(f"materializing gold for {start}..{end} through Dagster (DAGSTER_HOME={instance.root_directory})")
        result = run_job("silver_to_gold_processing", instance, dates[0], dates[-1])
        if not result.success:
            for e in result.all_events:
                if e.event_type_value == "STEP_FAILURE":
                    print(e.step_failure_data.error.message, file=sys.stderr)
            say("FAILED: silver_to_gold_processing")
            return 1
        fresh = run_job("gold_freshness_checks", instance, dates[-1], dates[-1])
        fresh_passed = sum(1 for e in fresh.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                           and e.event_specific_data.passed)
        rows, consistent = summarize(result, settings, dates)
        print_table(["table", "date", "rows", "revenue", "checks", "duration", "livy batch"], rows)
        say(f"revenue identical across the three gold tables for every date: {'yes' if consistent else 'NO'}")
        say(f"freshness checks passed: {fresh_passed}/{len(GOLD_TABLES)}")
        if os.environ.get("SPARK_MASTER_WEBUI_URL"):  # CLUSTER=1 (livy/clusterctl.py env)
            say(cluster_summary(result, os.environ["SPARK_MASTER_WEBUI_URL"]))
            say(f"catalog: PostgreSQL {os.environ.get('ICEBERG_DB_HOST')}:{os.environ.get('ICEBERG_DB_PORT')}"
                f"/{os.environ.get('ICEBERG_DB')}; Dagster instance: {instance.root_directory}")
        say(f"done in {time.monotonic() - began:.0f}s; run `make dev{' CLUSTER=1' if os.environ.get('SPARK_MASTER_WEBUI_URL') else ''}` to browse the runs in the Dagster UI")
        return 0 if consistent else 1
    finally:
        if started_livy:
            subprocess.run([*LIVYCTL, "down"], check=False)


if __name__ == "__main__":
    sys.exit(main())
