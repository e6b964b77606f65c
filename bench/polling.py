"""Section 2: how soon BatchRunner sees a batch's end, and how many Livy requests that costs."""

from __future__ import annotations

import re
import time
import uuid

import requests

from bench.context import Context
from bench.report import fmt, median, progress
from bench.stack import wait_quiet
from dagster_livy import BatchRunner, LivyClient, PollPolicy
from dagster_livy.bodies import build_batch_body

SLEEPER = '''"""bench: sleep a few seconds (no Spark), stamping start and end with the wall clock."""
import sys
import time

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
print(f"BENCH_SLEEP_START {time.time():.3f}", flush=True)
time.sleep(seconds)
print(f"BENCH_SLEEP_END {time.time():.3f}", flush=True)
'''


class TimedClient(LivyClient):
    """Notes the wall-clock time the first terminal state is read."""

    terminal_at: float | None = None

    def get_batch_state(self, id_or_name):
        state = super().get_batch_state(id_or_name)
        if state.is_terminal and self.terminal_at is None:
            self.terminal_at = time.time()
        return state

    def get_batch(self, id_or_name, **kwargs):  # what BatchRunner polls (state + newest lines)
        batch = super().get_batch(id_or_name, **kwargs)
        if batch.state.is_terminal and self.terminal_at is None:
            self.terminal_at = time.time()
        return batch


def counting_session() -> tuple[requests.Session, list[int]]:
    """A requests.Session that counts every HTTP response (health, lookup, retries, DELETE too)."""
    count = [0]
    session = requests.Session()

    def hook(resp, *args, **kwargs):
        count[0] += 1

    session.hooks["response"].append(hook)
    return session, count


def run(ctx: Context) -> None:
    args = ctx.args
    script = ctx.stack.staging_dir / "bench_sleep.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(SLEEPER)
    policies = [("default", PollPolicy()), ("max_s=5", PollPolicy(max_s=5))]
    per_run, summary = [], []
    for label, policy in policies:
        results = []
        for i in range(1, args.batches + 1):
            wait_quiet(args.quiet_wait)
            progress(f"section 2: {label} poll policy, batch {i}/{args.batches} (sleeps {args.sleep_s:g}s) ...")
            session, count = counting_session()
            end_stamp: list[float] = []

            def lines(ls: list[str]) -> None:
                for line in ls:
                    m = re.match(r"BENCH_SLEEP_END ([\d.]+)", line.strip())
                    if m:
                        end_stamp.append(float(m.group(1)))

            body = build_batch_body(script.as_uri(), name=f"bench-poll-{label.replace('=', '')}-{i}-{uuid.uuid4().hex[:6]}",
                                    args=[str(args.sleep_s)])
            with TimedClient(ctx.stack.url, session=session) as client:
                result = BatchRunner(client, poll=policy, on_lines=lines).run(body)
            http = count[0]
            session.close()
            seen = (client.terminal_at - end_stamp[0]) if (client.terminal_at and end_stamp) else None
            minutes = result.duration_s / 60
            results.append((result, seen, http))
            per_run.append([label, str(i), fmt(result.duration_s), fmt(result.end_detected_s, 2), fmt(seen, 2),
                            str(result.requests), str(http), fmt(result.requests / minutes, 0),
                            fmt(http / minutes, 0)])
        det = [r.end_detected_s for r, _, _ in results]
        seen = [s for _, s, _ in results]
        rpm = [r.requests / (r.duration_s / 60) for r, _, _ in results]
        hpm = [h / (r.duration_s / 60) for r, _, h in results]
        summary.append([label, f"{policy.initial_s:g}/{policy.max_s:g}/{policy.factor:g}",
                        fmt(median(det), 2), fmt(max((d for d in det if d is not None), default=None), 2),
                        fmt(median(seen), 2), fmt(max((s for s in seen if s is not None), default=None), 2),
                        fmt(median(rpm), 0), fmt(median(hpm), 0), fmt(median(r.duration_s for r, _, _ in results))])
        per_run.append(["---"])
    per_run.pop()

    ctx.report.table(
        f"2. End-of-batch detection: {args.batches} batches per poll policy, a {args.sleep_s:g}s sleep script "
        "(no Spark) through BatchRunner",
        ["policy", "#", "batch s", "end_detected s", "exit->seen s", "requests", "HTTP", "req/min", "HTTP/min"],
        per_run)
    ctx.report.table(
        "2b. Detection summary",
        ["policy", "initial/max/factor", "end_detected med", "max", "exit->seen med", "max",
         "req/min med", "HTTP/min med", "batch s med"],
        summary,
        ["end_detected = BatchResult.end_detected_s: time from the last non-terminal poll to the terminal one "
         "(upper bound on the delay after Livy reports the end)",
         "exit->seen = script's last print (its own wall clock) -> first terminal state read: includes the "
         "spark-submit JVM exiting and Livy noticing it",
         "requests = BatchResult.requests (polls, log pages, submit); HTTP = every response counted "
         "on the session (adds health, lookup by name, DELETE); per minute of batch duration_s",
         "each poll is 1 request (GET /batches/{name}: state + newest lines) plus the whole log page when those "
         "lines changed (and every 30 s); a state change resets the interval to initial_s, log lines do not; a "
         "quiet running batch settles at 1 per max_s: "
         + ", ".join(f"{label} {60 / p.max_s:.0f}/min" for label, p in policies)])
