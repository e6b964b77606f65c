"""Section 2: how soon BatchRunner sees a batch's end, how many Livy requests that costs (a quiet
and a chatty batch), and how soon a batch given up on is gone with its spark-submit."""

from __future__ import annotations

import re
import subprocess
import threading
import time
import uuid

import requests

from bench.context import Context
from bench.report import fmt, median, progress
from bench.stack import wait_quiet
from dagster_livy import BatchRunner, LivyClient, LivyTimeoutError
from dagster_livy.batches import PAGE_DEFER_S
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
# A Spark driver ending like this project's Pipes scripts: Spark stopped, then the Pipes closed
# message (a plain line here), then the Python and spark-submit exits.
SPARK_SCRIPT = '''"""bench: a SparkSession, one action, a sleep, spark.stop(), a Pipes-like closed line."""
import sys
import time
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
print(f"bench rows {spark.range(1000).count()}", flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
print(f"BENCH_SLEEP_END {time.time():.3f}", flush=True)
spark.stop()
print('{"__dagster_pipes_version": "0.1", "method": "closed", "params": {}}', flush=True)
'''
SIDE_RUNS = 2
LONG_DEFER_S = 15.0  # the chatty case again with log pages deferred this long (fewer requests, later lines)
CHATTY_PER_S = 20  # lines a second: more than the 9 newest lines a poll's answer carries
OBSERVE_EVERY_S = 0.05  # the observer's cadence: the resolution of "when Livy reported the end"
# Between the starts of batches run side by side. A batch's first seconds are spark-submit's JVM
# start (CPU-bound): started 1 s apart, 8 of them stretched a 30 s batch's wait to ~70 s on 2 cores
# and moved the chatty req/min (its pages come early); 4 s apart, one JVM starts at a time.
STAGGER_S = 4.0
SPARK_STAGGER_S = 15.0  # the Spark drivers: one's SparkSession start never meets the other's end
GONE_CAP_S = 15.0  # 2c: how long to wait for the given-up batch's processes to go (the promise: ~1 s)


class TimedClient(LivyClient):
    """Notes when the submission was answered and when the first terminal state was read, and
    counts log pages (all on time.monotonic, like the session's request log)."""

    submitted_at: float | None = None
    terminal_at: float | None = None
    terminal_wall: float | None = None
    pages: int = 0

    def submit_batch(self, body):
        batch = super().submit_batch(body)
        self.submitted_at = time.monotonic()
        return batch

    def get_batch(self, id_or_name, **kwargs):  # what BatchRunner polls (state + newest lines)
        batch = super().get_batch(id_or_name, **kwargs)
        if batch.state.is_terminal and self.terminal_at is None:
            self.terminal_at, self.terminal_wall = time.monotonic(), time.time()
        return batch

    def get_batch_log(self, *args, **kwargs):
        self.pages += 1
        return super().get_batch_log(*args, **kwargs)


def recording_session() -> tuple[requests.Session, list[tuple[float, float, str]]]:
    """A requests.Session that records every HTTP exchange (health, lookup, retries, DELETE too)
    as (sent, answered, "METHOD path") on time.monotonic."""
    log: list[tuple[float, float, str]] = []
    session = requests.Session()

    def hook(resp, *args, **kwargs):
        answered = time.monotonic()
        log.append((answered - resp.elapsed.total_seconds(), answered,
                    f"{resp.request.method} {resp.request.path_url}"))

    session.hooks["response"].append(hook)
    return session, log


class Observer(threading.Thread):
    """Times Livy's report of the end independently of the runner: its own session asks for the
    batch every OBSERVE_EVERY_S (not counted anywhere) and notes the send time of the last
    non-terminal answer (Livy reported the end after it) and the arrival of the first terminal
    one (Livy had reported it by then), and when the newest lines last changed before the end."""

    def __init__(self, url: str, name: str) -> None:
        super().__init__(daemon=True)
        self.url, self.name = url, name
        self.stop = threading.Event()
        self.last_running_sent: float | None = None
        self.first_terminal: float | None = None
        self.window_changed: float | None = None

    def run(self) -> None:
        window = None
        with requests.Session() as s:
            while not self.stop.is_set():
                sent = time.monotonic()
                try:
                    r = s.get(f"{self.url}/batches/{self.name}", timeout=10)
                except requests.RequestException:
                    r = None
                if r is not None and r.status_code == 200:
                    b = r.json()
                    if b["state"] in ("success", "dead", "killed"):
                        self.first_terminal = time.monotonic()
                        return
                    self.last_running_sent = sent
                    if b.get("log") != window:
                        window, self.window_changed = b.get("log"), time.monotonic()
                self.stop.wait(max(0.0, sent + OBSERVE_EVERY_S - time.monotonic()))


def p95(xs: list[float]) -> float | None:
    """The 95th percentile, nearest rank (with few runs: their maximum)."""
    xs = sorted(x for x in xs if x is not None)
    return xs[max(0, -(-95 * len(xs) // 100) - 1)] if xs else None


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
    while spark_submits_with(marker) and time.time() - gave_up < GONE_CAP_S:
        time.sleep(0.05)
    gone_s = time.time() - gave_up
    gone = fmt(gone_s, 2) if not spark_submits_with(marker) else f"still there after {GONE_CAP_S:g}"
    return [fmt(gave_up - began), "yes" if deleted else "NO", gone]


def run_one(ctx: Context, script, label: str, i: int, per_s: float, policy: PollPolicy,
            page_defer_s: float = PAGE_DEFER_S) -> dict:
    """One batch through BatchRunner, watched by an Observer; its figures."""
    args = ctx.args
    session, http = recording_session()
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
    observer = Observer(ctx.stack.url, body["name"])
    observer.start()
    try:
        with TimedClient(ctx.stack.url, session=session) as client:
            result = BatchRunner(client, poll=policy, on_lines=lines, page_defer_s=page_defer_s).run(body)
    finally:
        observer.stop.set()
        observer.join(10)
        session.close()
    sub, term = client.submitted_at, client.terminal_at
    waiting = [h for h in http if sub is not None and term is not None and h[0] >= sub and h[1] <= term]
    wait_min = (term - sub) / 60 if sub is not None and term is not None else None
    after = [h for h in http if term is not None and h[0] > term]
    seen_max = (term - observer.last_running_sent) if (term and observer.last_running_sent) else None
    seen_min = (term - observer.first_terminal) if (term and observer.first_terminal) else None
    lead = ((observer.first_terminal - observer.window_changed)
            if observer.first_terminal and observer.window_changed else None)
    return {
        "result": result, "wait_s": term - sub if wait_min else None,
        "waiting": len(waiting), "pages_waiting": sum("/log" in h[2] for h in waiting),
        "rpm": len(waiting) / wait_min if wait_min else None,
        "after": len(after), "http": len(http),
        "seen_max": seen_max, "seen_min": seen_min, "lead": lead,
        "exit_seen": (client.terminal_wall - end_stamp[0]) if (client.terminal_wall and end_stamp) else None,
        "lines": lines_seen[0],
    }


def side_runs(args) -> int:
    """Runs of each illustrating case (chatty 15s, quiet 1.05s, spark): --quick looks at one each."""
    return 1 if args.quick else min(SIDE_RUNS, args.batches)


def run(ctx: Context) -> None:
    args = ctx.args
    script = ctx.stack.staging_dir / "bench_sleep.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(SCRIPT)
    # The default, and one a little slower than the 1 s end-detection goal allows, for the trade-off.
    spark_script = ctx.stack.staging_dir / "bench_spark_end.py"
    spark_script.write_text(SPARK_SCRIPT)
    cases = [("quiet", 0, BATCH_POLL, PAGE_DEFER_S), ("chatty", CHATTY_PER_S, BATCH_POLL, PAGE_DEFER_S),
             (f"chatty {LONG_DEFER_S:g}s", CHATTY_PER_S, BATCH_POLL, LONG_DEFER_S),
             ("quiet 1.05s", 0, PollPolicy(1.0, 1.05), PAGE_DEFER_S), ("spark", 0, BATCH_POLL, PAGE_DEFER_S)]
    per_run, summary, default_runs = [], [], []
    # quiet and chatty at the default are the figures; the others illustrate (2 runs each).
    plan = [(label, per_s, policy, defer,
             args.batches if label in ("quiet", "chatty") else side_runs(args))
            for label, per_s, policy, defer in cases]
    # The no-Spark batches (sleeping Python drivers, each runner and Observer on its own session) run
    # side by side, `--poll-parallel` at a time, started STAGGER_S apart, the cases interleaved so each
    # meets the same load; then the Spark drivers, side by side with each other only (each starts a
    # SparkSession: not while the others are measured). bench/README.md ("Budget") compares the
    # figures with a one-at-a-time run.
    order = {label: k for k, (label, *_rest) in enumerate(plan)}
    jobs = sorted(((label, i, count, per_s, policy, defer) for label, per_s, policy, defer, count in plan
                   for i in range(1, count + 1)), key=lambda j: (j[0] == "spark", j[1], order[j[0]]))
    results: dict[tuple[str, int], dict] = {}

    def one(job) -> None:
        label, i, count, per_s, policy, defer = job
        progress(f"section 2: {label} batch {i}/{count} ({args.sleep_s:g}s, {per_s} lines/s) ...")
        results[(label, i)] = run_one(ctx, spark_script if label == "spark" else script, label, i, per_s,
                                      policy, defer)

    parallel = max(1, args.poll_parallel)
    for wave, stagger in (([j for j in jobs if j[0] != "spark"], STAGGER_S),
                          ([j for j in jobs if j[0] == "spark"], SPARK_STAGGER_S)):
        if parallel == 1:
            for job in wave:
                wait_quiet(args.quiet_wait)
                one(job)
            continue
        wait_quiet(args.quiet_wait)
        progress(f"section 2: {len(wave)} batches, up to {parallel} at a time, started {stagger:g} s apart ...")
        # Each start waits for a free slot AND `stagger` after the previous start.
        slots, threads, errors, last = threading.Semaphore(parallel), [], [], None

        def slot(job) -> None:
            try:
                one(job)
            except BaseException as exc:  # re-raised below: a failed batch fails the section, as before
                errors.append(exc)
            finally:
                slots.release()

        for job in wave:
            slots.acquire()
            if last is not None:
                time.sleep(max(0.0, last + stagger - time.monotonic()))
            last = time.monotonic()
            threads.append(threading.Thread(target=slot, args=(job,), daemon=True))
            threads[-1].start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
    for label, per_s, policy, defer, count in plan:
        runs = []
        if policy == BATCH_POLL and label in ("quiet", "chatty"):
            default_runs.append(runs)
        for i in range(1, count + 1):
            r = results[(label, i)]
            runs.append(r)
            res = r["result"]
            per_run.append([label, str(i), fmt(r["wait_s"]), str(r["waiting"]), str(r["pages_waiting"]),
                            fmt(r["rpm"], 1), fmt(r["seen_min"], 2), fmt(r["seen_max"], 2),
                            fmt(res.end_detected_s, 2), fmt(r["lead"], 2), fmt(r["exit_seen"], 2),
                            str(r["after"]), str(res.requests), str(r["http"]), str(r["lines"]),
                            str(res.log_gaps)])
        ups = [r["seen_max"] for r in runs]
        summary.append([label, f"{policy.initial_s:g}/{policy.max_s:g}", str(len(runs)),
                        fmt(median(r["rpm"] for r in runs), 1), fmt(max(r["rpm"] for r in runs), 1),
                        fmt(median(ups), 2), fmt(p95(ups), 2), fmt(max((u for u in ups if u is not None), default=None), 2),
                        fmt(max(r["result"].end_detected_s or 0 for r in runs), 2),
                        fmt(median(r["lead"] for r in runs), 2),
                        fmt(median(r["result"].requests / (r["result"].duration_s / 60) for r in runs), 0),
                        fmt(median(r["http"] for r in runs), 0)])
        per_run.append(["---"])
    per_run.pop()
    pooled = [r["seen_max"] for runs in default_runs for r in runs if r["seen_max"] is not None]

    ctx.report.table(
        f"2. End of batch and requests while waiting: {args.batches} quiet and {args.batches} chatty "
        f"({CHATTY_PER_S} lines/s) batches of a {args.sleep_s:g}s script (no Spark) through BatchRunner, "
        f"default policy (dagster_livy.polling.BATCH_POLL: 1 s); {side_runs(args)} each of: chatty "
        f"with lines up to {LONG_DEFER_S:g} s late (BatchRunner(page_defer_s=...), default 5 s), quiet at "
        "PollPolicy(1.0, 1.05), Spark drivers ending like the Pipes scripts (action, sleep, spark.stop(), closed "
        "line) at the default policy; "
        + (f"the no-Spark batches {args.poll_parallel} at a time (started {STAGGER_S:g} s apart), then the Spark ones "
           f"side by side ({SPARK_STAGGER_S:g} s apart)"
           if args.poll_parallel > 1 else "one batch at a time"),
        ["batch", "#", "wait s", "waiting req", "pages", "req/min", "seen >=", "seen <=", "end_detected",
         "lead", "exit->seen", "after", "requests", "HTTP", "lines", "gaps"],
        per_run)
    ctx.report.table(
        "2b. Summary (goal: <= 60 requests/min while waiting, end seen <= 1 s after Livy reports it)",
        ["batch", "initial/max s", "runs", "req/min med", "max", "seen<= med", "p95", "max",
         "end_detected max", "lead med", "requests/min", "HTTP/batch"],
        summary,
        ["wait = submit answered -> terminal state read; waiting req = the runner's requests sent and answered "
         "in it (polls + log pages), req/min = waiting req per minute of wait",
         f"seen >= / <= = the runner's terminal read minus the Observer's first terminal answer / minus the send "
         f"of its last running one: the Observer asks Livy every {OBSERVE_EVERY_S:g} s on its own session "
         "(not counted), so Livy reported the end between the two; <= is the honest upper bound",
         "end_detected = BatchResult.end_detected_s: answer of the last running poll -> answer of the terminal one",
         "lead = newest lines last changed (Observer) -> Livy reports the end: how much warning the log gives "
         "(the spark rows: the closed line -> the end)",
         "exit->seen = script's last print (its wall clock) -> terminal read: adds spark-submit's exit",
         "after = requests after the terminal read (the one log page read after the end, DELETE); requests = "
         "BatchResult.requests (submit + polls + pages + the read after the end), requests/min = that per minute "
         "of BatchResult.duration_s (the old measure); HTTP = every response on the runner's session (adds the "
         "health probe, the lookup by name, the DELETE)",
         f"p95 over the runs of one policy (nearest rank); the {len(pooled)} default-policy runs pooled: "
         f"seen <= p95 {fmt(p95(pooled), 2)}, max {fmt(max(pooled, default=None), 2)}"])
    progress("section 2: giving up on a batch (max_wait_s=5) ...")
    ctx.report.table(
        "2c. Giving up: BatchRunner(max_wait_s=5) on a 300 s batch",
        ["run until give-up s", "batch deleted", "spark-submit gone after s"],
        [cleanup_after_giving_up(ctx)],
        ["spark-submit gone = time from LivyTimeoutError to no process carrying the script's unique name "
         "(the runner's DELETE is synchronous: Livy kills spark-submit before answering); the bench waits "
         f"up to {GONE_CAP_S:g} s for it"])
