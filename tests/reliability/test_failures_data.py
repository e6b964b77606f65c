"""Data errors and catalog contention on the real stack (issue 7 section 4, and "holds today":
a missing silver date fails naming table and date and leaves gold untouched)."""

from __future__ import annotations

import sqlite3
import time

import dagster as dg
import pytest

from dagster_livy import BatchRunner, LivyBatchFailedError, LivyClient, is_transient
from dagster_livy.bodies import build_batch_body
from dagster_livy.lakehouse.definitions import defs
from dagster_livy.lakehouse.packaging import package_zip
from dagster_livy.lakehouse.settings import build_resources

from tests.conftest import unique_name

from .conftest import NO_SILVER_DATE, SILVER_END

pytestmark = pytest.mark.integration
CUSTOMER = "gold.daily_customer_analytics"


def gold_snapshot(catalog, table: str):
    """The table's current snapshot id, None if it has none, "absent" if the table does not exist."""
    try:
        snap = catalog.load_table(table).current_snapshot()
    except Exception as exc:  # pyiceberg NoSuchTableError (and namespace missing)
        if type(exc).__name__.startswith("NoSuch"):
            return "absent"
        raise
    return snap.snapshot_id if snap else None


def test_missing_silver_date_fails_once_naming_table_and_date(reliability_lakehouse):
    """A permanent data error: one attempt, no retry, the driver's message first, gold untouched."""
    _, catalog = reliability_lakehouse
    before = gold_snapshot(catalog, CUSTOMER)
    began = time.monotonic()
    result = defs.resolve_job_def("customer_analytics_processing").execute_in_process(
        tags={"dagster/asset_partition_range_start": NO_SILVER_DATE,
              "dagster/asset_partition_range_end": NO_SILVER_DATE},
        resources=build_resources(), instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    took = time.monotonic() - began
    assert not result.success
    types = [e.event_type_value for e in result.all_events]
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    text = str(failures[0].step_failure_data.error) if failures else ""
    first = text.splitlines()[0] if text else ""
    print(f"\nfailed in {took:.1f} s, {types.count('STEP_UP_FOR_RETRY')} retries; first line: {first}")
    assert types.count("STEP_UP_FOR_RETRY") == 0 and len(failures) == 1
    assert "MissingSilverDataError: silver." in first and NO_SILVER_DATE in first, text[-2000:]
    assert "permanent failure: not retried" in text
    assert gold_snapshot(catalog, CUSTOMER) == before, "a failed run changed gold"


def test_a_locked_catalog_fails_the_commit_naming_table_and_why(reliability_lakehouse, livy_stack):
    """Another writer holds the SQLite catalog (BEGIN IMMEDIATE) while a gold batch commits."""
    settings, catalog = reliability_lakehouse
    table = "gold.daily_sales_summary"
    before = gold_snapshot(catalog, table)
    body = build_batch_body(
        settings.script("batch_sales_summary.py"), name=unique_name("locked"),
        args=["--date", SILVER_END], py_files=[package_zip(settings.staging_dir).as_uri()],
        # Wait 2 s for the lock instead of the stack's 30 s: keeps the test short.
        conf={"spark.sql.catalog.lakehouse.jdbc.busy_timeout": "2000"})
    holder = sqlite3.connect(livy_stack.lakehouse_dir / "catalog.db", isolation_level=None, timeout=30)
    try:
        holder.execute("BEGIN IMMEDIATE")  # the write lock: readers go on, writers wait
        with LivyClient(livy_stack.url) as client:
            with pytest.raises(LivyBatchFailedError) as err:
                BatchRunner(client).run(body)
    finally:
        holder.rollback()
        holder.close()
    first = str(err.value).splitlines()[0]
    print(f"\nfirst line: {first[:400]}")
    assert first.startswith("lakehouse_jobs.io.CatalogBusyError: could not commit "
                            f"{table} for {SILVER_END}..{SILVER_END}")
    for why in ("locked by another writer", "SQLITE_BUSY", "`livy` pool", "PostgreSQL"):
        assert why in first, why
    assert is_transient(err.value)  # contention: a retry may succeed
    assert gold_snapshot(catalog, table) == before
