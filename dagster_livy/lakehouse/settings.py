"""Where things are and which resources to use: decided here, from the environment, once.

Defaults: Livy at dagster_livy.env's URL, its staging dir and the lakehouse as dagster_livy.env
says (./.livy/staging, ./.lakehouse), the Spark scripts and notebooks where this package finds
them (PROJECT_DIR), daily partitions from LAKEHOUSE_START_DATE (2025-01-01).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from dagster_livy.env import lakehouse_dir, livy_url, staging_dir
from dagster_livy.lakehouse.clock import LakehouseClock
from dagster_livy.packaging import package_dir
from dagster_livy.pipes import PipesLivyClient
from dagster_livy.resource import LivyResource

DEFAULT_START_DATE = "2025-01-01"  # LAKEHOUSE_START_DATE: the first daily partition


def _project_dir() -> Path:
    """Where spark_scripts/ and notebooks/ are. A wheel ships them inside this package
    (pyproject's package-dir maps them to dagster_livy/lakehouse/project/); from a checkout
    (`pip install -e`, PYTHONPATH) they are the repository's, beside the lakehouse_jobs package
    the scripts import (spark_scripts/lakehouse_jobs)."""
    shipped = Path(__file__).resolve().parent / "project"
    if (shipped / "spark_scripts").is_dir():
        return shipped
    return package_dir("lakehouse_jobs").parent.parent


PROJECT_DIR = _project_dir()
SCRIPTS_DIR = PROJECT_DIR / "spark_scripts"
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"


@dataclass(frozen=True)
class LakehouseSettings:
    scripts_uri: str      # where Livy finds spark_scripts/ (a file: URL or local: path prefix)
    staging_dir: Path     # a dir Livy may read (whitelisted) for the pyFiles zip
    lakehouse_dir: Path   # the warehouse (and the SQLite catalog unless ICEBERG_DB_HOST is set)
    start_date: str       # first daily partition

    @classmethod
    def from_env(cls, env: os._Environ | dict | None = None) -> "LakehouseSettings":
        env = os.environ if env is None else env
        return cls(
            scripts_uri=(env.get("LIVY_SCRIPTS_URI") or SCRIPTS_DIR.as_uri()).rstrip("/"),
            staging_dir=staging_dir(env),
            lakehouse_dir=lakehouse_dir(env),
            start_date=env.get("LAKEHOUSE_START_DATE") or DEFAULT_START_DATE,
        )

    def script(self, name: str) -> str:
        return f"{self.scripts_uri}/{name}"

    def catalog(self, env: os._Environ | dict | None = None):
        """pyiceberg's view of the `lakehouse` catalog the Spark jobs write: SQLite in
        lakehouse_dir, or PostgreSQL with ICEBERG_DB_HOST set (dagster_livy.env.catalog_properties)."""
        from dagster_livy.lakehouse.testing import CATALOG_NAME, open_catalog

        env = os.environ if env is None else env
        # The compose stack configures pyiceberg itself (PYICEBERG_CATALOG__LAKEHOUSE__*: S3
        # warehouse on MinIO); load_catalog reads that.
        if env.get("PYICEBERG_CATALOG__LAKEHOUSE__URI"):
            from pyiceberg.catalog import load_catalog

            return load_catalog(CATALOG_NAME)
        return open_catalog(self.lakehouse_dir, env=env)


def build_resources(env: os._Environ | dict | None = None) -> dict:
    """The `livy` and `pipes_livy` resources for this environment.

    Secrets come from the environment through dg.EnvVar (resolved at run time, never stored):
    LIVY_TOKEN or LIVY_USERNAME/LIVY_PASSWORD. LIVY_PIPES_CHANNEL=shared_dir with
    LIVY_PIPES_SHARED_DIR selects the Pipes channel for cluster deploy mode.
    """
    env = os.environ if env is None else env

    def from_env(name: str):
        return dg.EnvVar(name) if env.get(name) else None

    livy = LivyResource(
        url=dg.EnvVar("LIVY_URL") if env.get("LIVY_URL") else livy_url(env),
        token=from_env("LIVY_TOKEN"),
        username=from_env("LIVY_USERNAME"),
        password=from_env("LIVY_PASSWORD"),
        max_wait_s=float(env.get("LIVY_MAX_WAIT_S", "3600")),
    )
    channel = env.get("LIVY_PIPES_CHANNEL", "log")
    pipes = PipesLivyClient(livy=livy, message_channel=channel,
                            shared_dir=env.get("LIVY_PIPES_SHARED_DIR"))
    # LAKEHOUSE_NOW pins "now" (replays, demos of a past day); unset = the wall clock.
    clock = LakehouseClock(frozen_at=env.get("LAKEHOUSE_NOW") or None)
    return {"livy": livy, "pipes_livy": pipes, "clock": clock}
