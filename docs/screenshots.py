"""`make screenshots`: the README's Dagster UI images, from this checkout's instance after `make demo`.

Starts `dagster-webserver` on a free 127.0.0.1 port against DAGSTER_HOME (the code location from
pyproject's [tool.dagster], as `make dev` loads it; no daemon, so nothing is scheduled), picks the
newest materialized gold partition and the newest silver_to_gold_processing run, has headless
Chromium capture the pages (docs/screenshots.js) into docs/img/, and stops the webserver.

    python docs/screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg

REPO = Path(__file__).resolve().parent.parent
GOLD = dg.AssetKey(["gold", "daily_sales_summary"])
JOB = "silver_to_gold_processing"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subjects(instance: dg.DagsterInstance) -> tuple[str, str]:
    """The newest materialized partition of gold/daily_sales_summary and the newest successful
    silver_to_gold_processing run; a clear error when `make demo` has not run on this instance."""
    done = instance.get_materialized_partitions(GOLD)
    runs = instance.get_runs(dg.RunsFilter(job_name=JOB, statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1)
    if not done or not runs:
        sys.exit(f"nothing to show in DAGSTER_HOME={instance.root_directory}: no materialized "
                 f"{GOLD.to_user_string()} partition or successful {JOB} run; run `make demo` first")
    return max(done), runs[0].run_id


def wait_for(url: str, proc: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"dagster-webserver exited ({proc.returncode}) before answering {url} "
                     f"(log: .screenshots/webserver.log)")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(2)
    sys.exit(f"dagster-webserver did not answer {url} within {timeout_s:.0f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    args = parser.parse_args(argv)

    with dg.DagsterInstance.get() as instance:
        date, run_id = subjects(instance)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    webserver = Path(sys.executable).with_name("dagster-webserver")
    log = REPO / ".screenshots" / "webserver.log"
    log.parent.mkdir(exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(webserver), "-h", "127.0.0.1", "-p", str(port)], cwd=REPO,
                                start_new_session=True, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(f"{base}/server_info", proc)
        args.out.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "NODE_PATH": str(REPO / ".screenshots" / "node_modules")}
        print(f"webserver {base} (DAGSTER_HOME={os.environ.get('DAGSTER_HOME')}); partition {date}, run {run_id}")
        return subprocess.run(["node", str(REPO / "docs" / "screenshots.js"), base, str(args.out), date, run_id],
                              env=env).returncode
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the webserver and the code server it started
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
