"""Fixtures of the reliability suite: a tiny silver on the session's real Livy.

Silver dates sit early in 2025 (partitions start 2025-01-01), far from the dates the pipeline
tests derive from "now", so the two suites never read or overwrite each other's partitions.
"""

from __future__ import annotations

import datetime as dt

import pytest
from pyiceberg.catalog.sql import SqlCatalog

from dagster_livy import BatchRunner, LivyClient
from dagster_livy.bodies import build_batch_body
from dagster_livy.lakehouse.packaging import package_zip
from dagster_livy.lakehouse.settings import LakehouseSettings

SILVER_START, SILVER_END = "2025-02-03", "2025-02-04"
NO_SILVER_DATE = "2025-02-10"  # inside the partitions, never generated


@pytest.fixture(scope="session")
def reliability_lakehouse(livy_stack):
    """Tiny silver (300 page views a day, 10 % dirty) for SILVER_START..SILVER_END, generated
    through the test Livy; the lakehouse settings point at that Livy while the suite runs."""
    mp = pytest.MonkeyPatch()
    for key in ("LIVY_URL", "LIVY_STAGING_DIR", "LAKEHOUSE_DIR"):
        mp.setenv(key, str(livy_stack.env[key]))
    settings = LakehouseSettings.from_env()
    body = build_batch_body(
        settings.script("generate_silver.py"), name=f"reliability-silver-{dt.datetime.now():%H%M%S%f}",
        args=["--start", SILVER_START, "--end", SILVER_END, "--page-views-per-day", "300", "--seed", "11",
              "--dirty-share", "0.1"],
        py_files=[package_zip(settings.staging_dir).as_uri()])
    with LivyClient(livy_stack.url) as client:
        result = BatchRunner(client).run(body)
    print(f"\ntiny silver generated in {result.duration_s:.1f} s")
    lh = livy_stack.lakehouse_dir
    catalog = SqlCatalog("lakehouse", uri=f"sqlite:///{lh}/catalog.db", warehouse=f"file://{lh}/warehouse")
    try:
        yield settings, catalog
    finally:
        mp.undo()
