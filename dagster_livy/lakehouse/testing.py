"""What the demo, the bench and the tests share, in one place each.

- `open_catalog`: pyiceberg's view of a `lakehouse` catalog directory (SQLite, or PostgreSQL when
  ICEBERG_DB_HOST is set: dagster_livy.env.catalog_properties).
- `silver_body` / `generate_silver`: deterministic synthetic silver written by
  spark_scripts/generate_silver.py as a real Livy batch.
- `materializations`: the metadata values of the materializations in a run's events.
- `LocalLivy`: a private Livy started and stopped with the checkout's livy/livyctl.py (free
  loopback port, own run dir and lakehouse), as the tests and the bench run it; `attach` wraps a
  server already running elsewhere (LIVY_TEST_URL) with the same interface.

No pyspark, no Dagster import at module level: the REST client layer and pyiceberg suffice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from dagster_livy.env import catalog_properties

CATALOG_NAME = "lakehouse"  # Spark's name for it: the JDBC catalog keys its rows by catalog name


def open_catalog(lakehouse_dir: str | Path, *, name: str = CATALOG_NAME, env: Mapping[str, str] | None = None):
    """A pyiceberg SqlCatalog on the catalog in `lakehouse_dir` (env: see catalog_properties;
    `{}` for the local SQLite one whatever the environment says)."""
    from pyiceberg.catalog.sql import SqlCatalog

    return SqlCatalog(name, **catalog_properties(str(lakehouse_dir), env))


def silver_body(settings, *, start: dt.date | str, end: dt.date | str, page_views_per_day: int,
                seed: int, dirty_share: float, name: str) -> dict:
    """The Livy batch body of generate_silver.py for start..end (inclusive), with the
    lakehouse_jobs pyFiles zip staged where `settings` (LakehouseSettings) says."""
    from dagster_livy.bodies import build_batch_body
    from dagster_livy.lakehouse.packaging import package_zip

    return build_batch_body(
        settings.script("generate_silver.py"), name=name,
        args=["--start", str(start), "--end", str(end), "--page-views-per-day", str(page_views_per_day),
              "--seed", str(seed), "--dirty-share", str(dirty_share)],
        py_files=[package_zip(settings.staging_dir).as_uri()])


def generate_silver(url: str, settings, *, start: dt.date | str, end: dt.date | str, page_views_per_day: int,
                    seed: int, dirty_share: float, name: str, **runner: Any):
    """Run generate_silver.py through the Livy at `url` and wait for it; returns the
    BatchResult (a failed batch raises LivyBatchFailedError with its log tail). `runner`:
    BatchRunner options (on_event, on_lines, max_wait_s, ...)."""
    from dagster_livy import BatchRunner, LivyClient

    body = silver_body(settings, start=start, end=end, page_views_per_day=page_views_per_day, seed=seed,
                       dirty_share=dirty_share, name=name)
    with LivyClient(url) as client:
        return BatchRunner(client, **runner).run(body)


def silver_counts(lines: Iterable[str]) -> dict[str, int] | None:
    """The rows per silver table from generate_silver.py's `SILVER ...` summary line, if seen."""
    import re

    for line in lines:
        if line.startswith("SILVER "):
            return {k: int(v) for k, v in re.findall(r"(silver\.\w+)=(\d+)", line)}
    return None


def materialization_metadata(events) -> list[tuple[str, dict[str, Any]]]:
    """(asset key as "gold.daily_sales_summary", metadata values) of every materialization among
    `events` (a run result's `all_events`, or event log entries), in order."""
    out = []
    for e in events:
        e = getattr(e, "dagster_event", None) or e  # an EventLogEntry wraps the DagsterEvent
        if getattr(e, "event_type_value", None) == "ASSET_MATERIALIZATION":
            m = e.event_specific_data.materialization
            out.append((".".join(m.asset_key.path), {k: v.value for k, v in m.metadata.items()}))
    return out


def materializations(events) -> dict[str, dict[str, Any]]:
    """Asset key -> metadata values of its last materialization among `events`."""
    return dict(materialization_metadata(events))


# -- a private local Livy (tests, bench) ---------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalLivy:
    """A Livy server of its own, run by the checkout's livy/livyctl.py: `ctl_env` is what livyctl
    is started and stopped with (LIVY_RUN_DIR, LAKEHOUSE_DIR, LIVY_PORT, and options such as
    LIVY_LOG_MAX_SIZE / LIVY_LOG_BACKUPS), `env` what the server and its spark-submits run with
    (`livyctl env --json`). `started_here` is False for a server attached by URL, which the
    caller may not restart or kill."""

    livyctl: Path
    ctl_env: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    started_here: bool = True

    @classmethod
    def start(cls, livyctl: Path, base: Path, wait_s: int = 120, **extra_env: str) -> "LocalLivy":
        """Start it on a free loopback port with its run dir and lakehouse under `base`
        (`extra_env` adds to or overrides livyctl's environment). A failed start stops what it
        left (a half-started JVM must not outlive the caller)."""
        ctl_env = {"LIVY_RUN_DIR": str(base / "livy-run"), "LAKEHOUSE_DIR": str(base / "lakehouse"),
                   "LIVY_PORT": str(free_port()), **extra_env}
        stack = cls(livyctl=Path(livyctl), ctl_env=ctl_env)
        up = stack.run("up", "--wait", str(wait_s), check=False)
        if up.returncode != 0:
            stack.run("down", check=False)
            raise RuntimeError(f"livyctl up failed ({up.returncode}):\n{up.stdout}\n{up.stderr}")
        stack.env = {**json.loads(stack.run("env", "--json").stdout), **ctl_env}
        return stack

    @classmethod
    def attach(cls, livyctl: Path, url: str, env: Mapping[str, str] | None = None) -> "LocalLivy":
        """A server running elsewhere at `url` (its settings, e.g. LIVY_STAGING_DIR and
        LAKEHOUSE_DIR, from `env`, default os.environ): no run dir, never started or stopped here."""
        return cls(livyctl=Path(livyctl), ctl_env={}, started_here=False,
                   env={**(os.environ if env is None else env), "LIVY_URL": url.rstrip("/")})

    def run(self, *args: str, check: bool = True, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
        """`livyctl <args>` with this stack's environment (PYTHON: this interpreter)."""
        full = {**os.environ, **(self.ctl_env if env is None else env), "PYTHON": sys.executable,
                "SPARK_LOCAL_IP": "127.0.0.1"}
        proc = subprocess.run([sys.executable, str(self.livyctl), *args], env=full, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise RuntimeError(f"livyctl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def ensure_up(self, wait_s: int = 120) -> None:
        """Start it again if a test stopped or killed it (`livyctl up` adopts a running one)."""
        self.run("up", "--wait", str(wait_s))

    def stop(self, strict: bool = False) -> str:
        """`livyctl down`, then stop any process still carrying this server's run-dir marker (a
        driver that outlived it: nothing it started may outlive it); `strict` raises naming them."""
        proc = self.run("down", check=False)
        out = (proc.stdout + proc.stderr).strip()
        left = self.marked_processes()
        if left:
            self.stackproc.stop_processes(left, grace_s=1)
            out += f"\nstopped processes left after livyctl down: {[p.describe() for p in left]}"
            if strict:
                raise RuntimeError(out)
        return out

    url = property(lambda self: self.env["LIVY_URL"])
    staging_dir = property(lambda self: Path(self.env["LIVY_STAGING_DIR"]))
    lakehouse_dir = property(lambda self: Path(self.env["LAKEHOUSE_DIR"]))
    log_dir = property(lambda self: Path(self.env["LIVY_LOG_DIR"]))
    server_log = property(lambda self: self.log_dir / "livy-server.out")

    @property
    def run_dir(self) -> Path | None:
        return Path(self.ctl_env["LIVY_RUN_DIR"]) if "LIVY_RUN_DIR" in self.ctl_env else None

    def server_pid(self) -> int | None:
        try:
            return int((self.run_dir / "livy-server.pid").read_text().strip())
        except (OSError, TypeError, ValueError):
            return None

    def stage(self, path: Path) -> str:
        """Copy a local script into the whitelisted staging dir; return its file: URL."""
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        target = self.staging_dir / Path(path).name
        target.write_bytes(Path(path).read_bytes())
        return target.as_uri()

    def marked_processes(self) -> list:
        """The live processes this server started (livy/stackproc.py's run-dir marker): the
        server JVM and every driver, even one whose server was killed."""
        return self.stackproc.marked_processes(self.run_dir) if self.run_dir else []

    def drivers(self, needle: str) -> list:
        """This server's Python driver processes running `needle` (not the spark-submit JVM,
        whose command line names the script too)."""
        return [p for p in self.marked_processes()
                if needle in p.cmdline and "org.apache.spark.deploy.SparkSubmit" not in p.cmdline]

    @property
    def stackproc(self):
        """livy/stackproc.py: process markers, listeners, alive/stop helpers."""
        return self.script_module("stackproc")

    def script_module(self, name: str):
        """livy/<name>.py next to `livyctl`, loaded as livyctl loads it (livy/ is scripts, not a
        package; e.g. `livyconf` for the rendered configuration)."""
        import importlib.util

        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, self.livyctl.parent / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        return module

    def point_lakehouse_at(self, setenv: Callable[[str, str], Any]) -> None:
        """Point the lakehouse settings (and a kernel started after) at this Livy and lakehouse:
        `setenv` is e.g. pytest's monkeypatch.setenv or os.environ.__setitem__."""
        for key in ("LIVY_URL", "LIVY_STAGING_DIR", "LAKEHOUSE_DIR"):
            setenv(key, str(self.env[key]))
