"""read_silver refuses gaps; write_gold replaces exactly the requested dates in one commit."""

import datetime as dt
from decimal import Decimal

import pytest

from . import oracle
from .conftest import SILVER_END


def test_missing_silver_date_names_table_and_dates(spark, silver):
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.io import MissingSilverDataError, read_silver

    end = dt.date.fromisoformat(SILVER_END)
    with pytest.raises(MissingSilverDataError) as err:
        read_silver(spark, c.PAGE_VIEWS, end, end + dt.timedelta(days=2))
    message = str(err.value)
    assert "silver.page_views" in message
    assert "2024-01-04" in message and "2024-01-05" in message and "2024-01-03" not in message
    assert isinstance(err.value, ValueError)
    assert read_silver(spark, c.PURCHASES, end + dt.timedelta(days=1), end + dt.timedelta(days=1),
                       allow_missing=True).count() == 0


def test_gold_job_on_missing_date_fails_before_writing(spark, silver, catalog):
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.cli import main_gold
    from lakehouse_jobs.io import MissingSilverDataError

    with pytest.raises(MissingSilverDataError, match=r"silver\.\w+ has no rows for 2024-01-04"):
        main_gold(c.SALES_SUMMARY, ["--start", "2024-01-03", "--end", "2024-01-04"], spark=spark)
    if catalog.table_exists(c.SALES_SUMMARY):
        assert oracle.actual_gold(catalog, c.SALES_SUMMARY, dt.date(2024, 1, 4)) == []


def test_missing_table_is_reported_as_missing_silver(spark, scratch):
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.io import MissingSilverDataError, read_silver

    name, _, _ = scratch
    with pytest.raises(MissingSilverDataError, match=r"silver\.products does not exist"):
        read_silver(spark, c.PRODUCTS, catalog=name)


def _sales_rows(spark, day, revenue):
    from lakehouse_jobs import contract as c

    row = (day, "books", 1, 1, Decimal(revenue), 1, Decimal(revenue), None)
    return spark.createDataFrame([row], c.SALES_SUMMARY_SCHEMA)


def test_write_gold_replaces_exactly_the_requested_dates(spark, scratch):
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.io import write_gold

    name, _, pyi = scratch
    d1, d2 = dt.date(2024, 3, 1), dt.date(2024, 3, 2)
    both = _sales_rows(spark, d1, "1.00").unionByName(_sales_rows(spark, d2, "2.00"))
    first = write_gold(spark, both, c.SALES_SUMMARY, d1, d2, catalog=name)
    second = write_gold(spark, _sales_rows(spark, d2, "3.00"), c.SALES_SUMMARY, d2, d2, catalog=name)

    table = pyi.load_table(c.SALES_SUMMARY)
    assert table.current_snapshot().snapshot_id == second != first
    assert [r["revenue"] for r in oracle.actual_gold(pyi, c.SALES_SUMMARY, d1)] == [Decimal("1.00")]
    assert [r["revenue"] for r in oracle.actual_gold(pyi, c.SALES_SUMMARY, d2)] == [Decimal("3.00")]
    assert oracle.schema_problems(pyi, c.SALES_SUMMARY) == []

    # An empty result for a date still replaces it: the date's old rows must not survive.
    write_gold(spark, _sales_rows(spark, d2, "3.00").limit(0), c.SALES_SUMMARY, d2, d2, catalog=name)
    assert oracle.actual_gold(pyi, c.SALES_SUMMARY, d2) == []
    assert len(oracle.actual_gold(pyi, c.SALES_SUMMARY, d1)) == 1
    with pytest.raises(ValueError, match="not a gold table"):
        write_gold(spark, both, c.PAGE_VIEWS, d1, d2, catalog=name)


def test_catalog_busy_message_keeps_the_original_errors_telling_line():
    """py4j's first line says only which call failed: the line naming the busy code is kept."""
    from lakehouse_jobs.io import _cause_line

    raw = ("An error occurred while calling o67.sql.\n"
           ": org.apache.iceberg.jdbc.UncheckedSQLException: Failed to execute: UPDATE iceberg_tables\n"
           "Caused by: org.sqlite.SQLiteException: [SQLITE_BUSY] The database file is locked (database is locked)\n"
           "\tat org.sqlite.core.DB.newSQLException(DB.java:1179)")
    line = _cause_line(RuntimeError(raw), "SQLITE_BUSY")
    print(f"\nkept: {line}")
    assert line.startswith("Caused by: org.sqlite.SQLiteException: [SQLITE_BUSY]")
    assert _cause_line(RuntimeError("\nfirst real line\nsecond"), "SQLITE_BUSY") == "first real line"
