"""Section 2: how soon BatchRunner sees a batch's end, how many Livy requests that costs (a quiet
and a chatty batch), and how soon a batch given up on is gone with its spark-submit."""

from __future__ import annotations

import re
import subprocess
import time
import uuid

import requests

from bench.context import Context
from bench.report import fmt, median, progress
from bench.stack import wait_quiet
from dagster_livy import BatchRunner, LivyClient, LivyTimeoutError
from dagster_livy.bodies import build_batch_body
from dagster_livy.polling import BATCH_POLL, PollPolicy

SCRIPT = '''"""bench: run a few seconds (no Spark), printing PER_S lines a second, stamping start and end
with the wall clock."""
import sys
import time

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
per_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
start = time.time()
print(f"BENCH_SLEEP_START {start:.3f}", flush=True)
i = 0
while time.time() < start + seconds:
    if per_s > 0:
        print(f"bench line {i:07d} " + "x" * 60, flush=True)
        i += 1
        time.sleep(1 / per_s)
    else:
        time.sleep(min(1.0, start + seconds - time.time()))
print(f"BENCH_SLEEP_END {time.time():.3f}", flush=True)
'''
CHATTY_PER_S = 20  # lines a second: more than the 9 newest lines a poll's answer carries


class TimedClient(LivyClient):
    """Notes the wall-clock time the first terminal state is read, and counts log pages."""

    terminal_at: float | None = None
    pages: int = 0

    def get_batch(self, id_or_name, **kwargs):  # what BatchRunner polls (state + newest lines)
        batch = super().get_batch(id_or_name, **kwargs)
        if batch.state.is_terminal and self.terminal_at is None:
            self.terminal_at = time.time()
        return batch

    def get_batch_log(self, *args, **kwargs):
        self.pages += 1
        return super().get_batch_log(*args, **kwargs)


def counting_session() -> tuple[requests.Session, list[int]]:
    """A requests.Session that counts every HTTP response (health, lookup, retries, DELETE too)."""
    count = [0]
    session = requests.Session()

    def hook(resp, *args, **kwargs):
        count[0] += 1

    session.hooks["response"].append(hook)
    return session, count


def spark_submits_with(marker: str) -> bool:
    out = subprocess.run(["ps", "-eww", "-o", "args="], capture_output=True, text=True).stdout
    return any(marker in line and "ps -eww" not in line for line in out.splitlines())


def cleanup_after_giving_up(ctx: Context) -> list[str]:
    """BatchRunner(max_wait_s) on a long batch: the time from giving up to the batch deleted
    and its spark-submit gone (the promise of issue 7: within about a second)."""
    marker = f"bench_giveup_{uuid.uuid4().hex[:8]}"
    script = ctx.stack.staging_dir / f"{marker}.py"
    script.write_text(SCRIPT)
    body = build_batch_body(script.as_uri(), name=marker.replace("_", "-"), args=["300"])
    with LivyClient(ctx.stack.url) as client:
        runner = BatchRunner(client, max_wait_s=5)
        began = time.time()
        try:
            runner.run(body)
        except LivyTimeoutError:
            pass
        gave_up = time.time()
        deleted = client.find_batch_by_name(body["name"]) is None
    while spark_submits_with(marker) and time.time() - gave_up < 60:
        time.sleep(0.05)
    gone_s = time.time() - gave_up
    return [fmt(gave_up - began), "yes" if deleted else "NO", fmt(gone_s, 2)]


def run(ctx: Context) -> None:
    args = ctx.args
    script = ctx.stack.staging_dir / "bench_sleep.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(SCRIPT)
    # The default, and one a little slower than the 1 s end-detection goal allows, for the trade-off.
    cases = [("quiet", 0, BATCH_POLL), ("chatty", CHATTY_PER_S, BATCH_POLL),
             ("quiet 1.05s", 0, PollPolicy(1.0, 1.05))]
    per_run, summary = [], []
    for label, per_s, policy in cases:
        results = []
        for i in range(1, args.batches + 1):
            wait_quiet(args.quiet_wait)
            progress(f"section 2: {label} batch {i}/{args.batches} ({args.sleep_s:g}s, {per_s} lines/s) ...")
            session, count = counting_session()
            end_stamp: list[float] = []
            lines_seen = [0]

            def lines(ls: list[str]) -> None:
                lines_seen[0] += len(ls)
                for line in ls:
                    m = re.match(r"BENCH_SLEEP_END ([\d.]+)", line.strip())
                    if m:
                        end_stamp.append(float(m.group(1)))

            body = build_batch_body(script.as_uri(), name=f"bench-poll-{label.split()[0]}-{i}-{uuid.uuid4().hex[:6]}",
                                    args=[str(args.sleep_s), str(per_s)])
            with TimedClient(ctx.stack.url, session=session) as client:
                result = BatchRunner(client, poll=policy, on_lines=lines).run(body)
            http = count[0]
            session.close()
            seen = (client.terminal_at - end_stamp[0]) if (client.terminal_at and end_stamp) else None
            minutes = result.duration_s / 60
            polls = result.requests - 1 - client.pages
            results.append((result, seen, http, client.pages))
            per_run.append([label, str(i), fmt(result.duration_s), fmt(result.end_detected_s, 2), fmt(seen, 2),
                            str(polls), str(client.pages), str(result.requests), str(http),
                            fmt(result.requests / minutes, 0), fmt(http / minutes, 0), str(lines_seen[0]),
                            str(result.log_gaps)])
        det = [r.end_detected_s for r, _, _, _ in results]
        seen = [s for _, s, _, _ in results]
        rpm = [r.requests / (r.duration_s / 60) for r, _, _, _ in results]
        hpm = [h / (r.duration_s / 60) for r, _, h, _ in results]
        summary.append([label, f"{policy.initial_s:g}/{policy.max_s:g}/{policy.factor:g}",
                        fmt(median(det), 2), fmt(max((d for d in det if d is not None), default=None), 2),
                        fmt(median(seen), 2), fmt(max((s for s in seen if s is not None), default=None), 2),
                        fmt(median(rpm), 0), fmt(max(rpm), 0), fmt(median(hpm), 0),
                        fmt(median(r.duration_s for r, _, _, _ in results))])
        per_run.append(["---"])
    per_run.pop()

    ctx.report.table(
        f"2. End-of-batch detection and requests: {args.batches} quiet and {args.batches} chatty "
        f"({CHATTY_PER_S} lines/s) batches of a {args.sleep_s:g}s script (no Spark) through BatchRunner, "
        "default PollPolicy (dagster_livy.polling.BATCH_POLL: 1 s); then quiet ones at PollPolicy(1.0, 1.05)",
        ["batch", "#", "batch s", "end_detected s", "exit->seen s", "polls", "pages", "requests", "HTTP",
         "req/min", "HTTP/min", "lines", "gaps"],
        per_run)
    ctx.report.table(
        "2b. Detection and request summary (goal: <= 60 requests/min, end seen <= 1 s after Livy reports it)",
        ["batch", "initial/max/factor", "end_detected med", "max", "exit->seen med", "max",
         "req/min med", "max", "HTTP/min med", "batch s med"],
        summary,
        ["end_detected = BatchResult.end_detected_s: time from the last non-terminal poll to the terminal one "
         "(upper bound on the delay after Livy reports the end)",
         "exit->seen = script's last print (its own wall clock) -> first terminal state read: includes the "
         "spark-submit JVM exiting and Livy noticing it",
         "requests = BatchResult.requests (submit, polls, log pages incl. the one read after the end); HTTP = every "
         "response counted on the session (adds health, lookup by name, DELETE); per minute of batch duration_s",
         "each poll is 1 request (GET /batches/{name}: state + the newest 9 lines), 1 s start to start; the log "
         "page is read only when that window cannot give the new lines (deferred up to 5 s unless Livy's buffer "
         "could wrap first), and once after the end"])
    progress("section 2: giving up on a batch (max_wait_s=5) ...")
    ctx.report.table(
        "2c. Giving up: BatchRunner(max_wait_s=5) on a 300 s batch",
        ["run until give-up s", "batch deleted", "spark-submit gone after s"],
        [cleanup_after_giving_up(ctx)],
        ["spark-submit gone = time from LivyTimeoutError to no process carrying the script's unique name "
         "(the runner's DELETE is synchronous: Livy kills spark-submit before answering)"])
