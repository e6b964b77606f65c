"""Printing: progress lines on stderr, the report (header and fixed-width tables) on stdout."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path


def progress(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Report:
    """Everything the report prints, kept so `--out` can save it as well."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def table(self, title: str, header: list[str], rows: list[list[str]], notes: list[str] = ()) -> None:
        self.say(title)
        self.say(format_table(header, rows))
        for note in notes:
            self.say(f"  {note}")
        self.say()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(self.lines) + "\n")


def _numeric(cell: str) -> bool:
    s = cell.strip().lstrip("~<>=+-").rstrip("%xs")
    return bool(s) and (s[0].isdigit() or s[:1] == ".")


def format_table(header: list[str], rows: list[list[str]]) -> str:
    """Fixed-width columns: numbers right-aligned, text left-aligned; '-' rows are separators."""
    widths = [max([len(h)] + [len(r[i]) for r in rows if r and r[0] != "---"]) for i, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    rule = "-" * len(out[0])
    out.append(rule)
    for r in rows:
        if r and r[0] == "---":
            out.append(rule)
            continue
        out.append("  ".join(
            c.rjust(w) if (i > 0 and (_numeric(c) or c in ("-", "n/a"))) else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    return "\n".join(out)


# ---------------------------------------------------------------- numbers

def median(xs) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x: float | None, digits: int = 1, unit: str = "") -> str:
    return "-" if x is None else f"{x:.{digits}f}{unit}"


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}"


def fmt_int(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


# ---------------------------------------------------------------- the machine

def mem_gib(field: str = "MemTotal") -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def load1() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError):
        return None


def nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1
