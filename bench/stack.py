"""The bench's own Livy server and lakehouse (never the developer's `make up` one).

The harness itself (livyctl up/env/down on a free loopback port, its own run dir and lakehouse)
is dagster_livy.lakehouse.testing.LocalLivy, the one the tests use; this adds what the bench
measures with: Spark's home and conf, and the processes' memory and CPU.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from dagster_livy.lakehouse.testing import LocalLivy

REPO = Path(__file__).resolve().parent.parent
LIVYCTL = REPO / "livy" / "livyctl.py"


class BenchStack(LocalLivy):
    @classmethod
    def start(cls, base: Path, driver_memory: str) -> "BenchStack":
        # Livy refuses a batch while `livy.server.session.max-creation` spark-submits live (livyctl's
        # default: one per core); section 2 runs its sleeping no-Spark batches side by side.
        stack = super().start(LIVYCTL, base, SPARK_DRIVER_MEMORY=driver_memory,
                              LIVY_MAX_CREATION=os.environ.get("LIVY_MAX_CREATION", "32"))
        stack.base = base
        return stack

    spark_home = property(lambda self: Path(self.env["SPARK_HOME"]))
    spark_conf_dir = property(lambda self: Path(self.env["SPARK_CONF_DIR"]))

    def spark_env(self) -> dict[str, str]:
        """The environment Livy gives its spark-submits, for running the same thing by hand."""
        keep = ("SPARK_HOME", "SPARK_CONF_DIR", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON",
                "SPARK_LOCAL_IP", "LAKEHOUSE_DIR", "PYTHONUNBUFFERED")
        return {**os.environ, **{k: self.env[k] for k in keep if k in self.env}}

    def spark_defaults(self) -> dict[str, str]:
        out = {}
        for line in (self.spark_conf_dir / "spark-defaults.conf").read_text().splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2 and not parts[0].startswith("#"):
                out[parts[0]] = parts[1].strip()
        return out


# ---------------------------------------------------------------- memory of a process tree

def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class PeakRss:
    """Samples the summed RSS of every descendant of `root` (not root itself) twice a second:
    for the Livy server that is the spark-submit JVM, the Python driver and its workers."""

    def __init__(self, root: int | None, interval_s: float = 0.5) -> None:
        self.root, self.interval_s = root, interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self.root:
                kids, total = _children_map(), 0
                todo = list(kids.get(self.root, []))
                while todo:
                    pid = todo.pop()
                    total += _rss_bytes(pid)
                    todo.extend(kids.get(pid, []))
                self.peak = max(self.peak, total)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def peak_gib(self) -> float:
        return self.peak / 1024 ** 3


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]), idle


def cpu_busy(interval_s: float = 1.0) -> float | None:
    """Share of all CPUs busy over `interval_s` (0..1). Taken while the bench itself is idle, it
    is the load other processes put on the machine."""
    try:
        t0, i0 = _cpu_times()
        time.sleep(interval_s)
        t1, i1 = _cpu_times()
    except (OSError, ValueError, IndexError):
        time.sleep(interval_s)
        return None
    return (1 - (i1 - i0) / (t1 - t0)) if t1 > t0 else None


def _proc_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime of a process (clock ticks): its own CPU and that of the
    children it has reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15])
    except (OSError, ValueError, IndexError):
        return 0


def _tree_ticks(roots: list[int]) -> int:
    kids = _children_map()
    seen, todo, total = set(), list(roots), 0
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _proc_ticks(pid)
        todo.extend(kids.get(pid, []))
    return total


class OthersCpu:
    """CPU share used by processes other than the bench's own (this process, the bench Livy and
    every live descendant of both) while the block runs: 0 = the machine was ours alone."""

    def __init__(self, roots: list[int | None]) -> None:
        self.roots = [r for r in roots if r]
        self.share: float | None = None

    def _sample(self) -> tuple[int, int, int]:
        total, idle = _cpu_times()
        return total, total - idle, _tree_ticks(self.roots)

    def __enter__(self) -> "OthersCpu":
        try:
            self._start = self._sample()
        except (OSError, ValueError, IndexError):
            self._start = None
        return self

    def __exit__(self, *exc) -> None:
        if self._start is None:
            return
        try:
            total, busy, own = self._sample()
        except (OSError, ValueError, IndexError):
            return
        t0, b0, o0 = self._start
        if total > t0:
            self.share = min(1.0, max(0.0, ((busy - b0) - (own - o0)) / (total - t0)))


def wait_quiet(max_wait_s: float = 0.0, threshold: float = 0.25) -> float | None:
    """Pause between measured runs (the previous JVM's exit settles); wait up to `max_wait_s` for
    the machine's CPU use by others to drop below `threshold`. Returns the last busy share seen."""
    began = time.monotonic()
    deadline = began + max_wait_s
    busy = cpu_busy(1.0)
    while busy is not None and busy > threshold and time.monotonic() < deadline:
        busy = cpu_busy(2.0)
    QUIET_WAITED[0] += time.monotonic() - began
    return busy


QUIET_WAITED = [0.0]  # seconds spent in wait_quiet so far (the report shows it per section)
