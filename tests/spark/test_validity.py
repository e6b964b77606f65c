"""Dirty rows: excluded from gold and counted by reason (hand-built rows, hand-computed counts)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from pyspark.sql import functions as F

from . import oracle

# ----------------------------------------------------------------------------- hand-built silver

DAY = dt.date(2024, 2, 1)
PREV, NEXT = DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1)


def ts(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=dt.timezone.utc)


PRODUCTS = [
    # product_id, product_name, category, price, updated_at
    ("P1", "Book", "books", D("10.00"), ts(PREV, 1)),
    ("P2", "Thing", None, D("5.00"), ts(PREV, 1)),          # null category -> 'uncategorized'
    ("P3", "Yo-yo", "toys", D("2.50"), ts(PREV, 2)),
    ("P3", "Yo-yo (old)", "old", D("2.00"), ts(PREV, 0)),   # older duplicate: ignored
]

PAGE_VIEWS = [
    # event_id, session_id, customer_id, product_id, page_type, event_time, event_date
    ("e1", "s1", "c1", "P1", "product", ts(DAY, 10), DAY),
    ("e2", "s1", "c1", None, "home", ts(DAY, 10, 1), DAY),
    ("e3", "s2", "c2", "P1", "product", ts(DAY, 10), DAY),
    (None, "s2", "c2", "P1", "product", ts(DAY, 10), DAY),      # null_key
    ("e4", "s2", None, "PX", "product", ts(DAY, 10), DAY),      # null_key (beats unknown_product)
    ("e5", "s3", "c3", "PX", "product", ts(DAY, 10), DAY),      # unknown_product
    ("e6", "s3", "c3", None, "product", ts(DAY, 10), DAY),      # unknown_product (null id)
    ("e7", "s4", "c4", "P2", "product", ts(DAY, 11, 5), DAY),   # duplicate (later copy)
    ("e7", "s4", "c4", "P2", "product", ts(DAY, 11), DAY),      # kept: earliest
    ("e8", "s5", None, "P3", "product", ts(DAY, 11, 59), DAY),  # null_key, so e8 below is unique
    ("e8", "s5", "c5", "P3", "product", ts(DAY, 12), DAY),
    ("e9", "s7", "c7", "P1", "product", ts(DAY, 13), DAY),
    ("e9", "s7", "c7", "P1", "product", ts(DAY, 13), DAY),      # duplicate
    ("e9", "s7", "c7", "P1", "product", ts(DAY, 13), DAY),      # duplicate
    ("e10", "s6", "c6", "PX", "cart", ts(DAY, 14), DAY),        # valid: not a product page
    ("e11", None, "c1", "P3", "product", ts(DAY, 15), DAY),     # valid: no session (views, not sessions)
    ("e12", "s1", "c1", "P1", None, ts(DAY, 16), DAY),          # valid: no page type (not a product view)
    ("e1", "s9", "c9", "P1", "product", ts(NEXT, 9), NEXT),     # same id, other day: valid
]
# e3 is kept too (c2 views P1); the null-id row above it is the null_key one.
PAGE_VIEW_REJECTS = {"null_key": 3, "unknown_product": 2, "duplicate": 3}
VALID_EVENTS_DAY = ["e1", "e10", "e11", "e12", "e2", "e3", "e7", "e8", "e9"]

PURCHASES = [
    # order_id, customer_id, product_id, quantity, unit_price, event_time, event_date
    ("o1", "c1", "P1", 2, D("10.00"), ts(DAY, 10, 30), DAY),
    ("o1", "c1", "P3", 1, D("2.50"), ts(DAY, 10, 30), DAY),
    ("o2", "c2", "P2", 3, D("5.00"), ts(DAY, 10), DAY),         # kept: earliest
    ("o2", "c2", "P2", 1, D("5.00"), ts(DAY, 10, 5), DAY),      # duplicate
    ("o12", "c2", "P2", 1, D("5.01"), ts(DAY, 15), DAY),
    (None, "c3", "P1", 1, D("10.00"), ts(DAY, 10), DAY),        # null_key
    ("o4", None, "P1", 1, D("10.00"), ts(DAY, 10), DAY),        # null_key
    ("o5", "c5", None, 1, D("10.00"), ts(DAY, 10), DAY),        # null_key
    ("o6", "c6", "P1", 0, D("10.00"), ts(DAY, 10), DAY),        # non_positive_quantity
    ("o7", "c7", "P1", -1, D("-10.00"), ts(DAY, 10), DAY),      # non_positive_quantity (first)
    ("o8", "c8", "P1", 1, D("-0.01"), ts(DAY, 10), DAY),        # negative_price
    ("o9", "c9", "PX", 1, D("1.00"), ts(DAY, 10), DAY),         # unknown_product
    ("o10", "c10", "PX", 0, D("1.00"), ts(DAY, 10), DAY),       # non_positive_quantity (first)
    ("o11", "c11", "P1", 1, D("0.00"), ts(DAY, 16), DAY),       # valid: free item
    ("o0", "c1", "P1", 1, D("16.00"), ts(PREV, 9), PREV),       # previous day, books
]
PURCHASE_REJECTS = {"null_key": 3, "non_positive_quantity": 3, "negative_price": 1,
                    "unknown_product": 1, "duplicate": 1}
REVENUE_DAY = D("42.51")  # 20.00 + 2.50 + 15.00 + 5.01 + 0.00

CUSTOMER_ROWS = [
    # customer_id, page_views, sessions, products_viewed, orders, items, revenue, aov, segment
    ("c1", 4, 1, 2, 1, 3, D("22.50"), D("22.50"), "buyer"),     # e11, e12: null session, null page type
    ("c11", 0, 0, 0, 1, 1, D("0.00"), D("0.00"), "buyer"),
    ("c2", 1, 1, 1, 2, 4, D("20.01"), D("10.01"), "buyer"),    # 10.005 rounds HALF_UP
    ("c4", 1, 1, 1, 0, 0, D("0.00"), None, "browser"),
    ("c5", 1, 1, 1, 0, 0, D("0.00"), None, "browser"),
    ("c6", 1, 1, 0, 0, 0, D("0.00"), None, "browser"),
    ("c7", 1, 1, 1, 0, 0, D("0.00"), None, "browser"),
]
SALES_ROWS = [
    # category, orders, items, revenue, customers, aov, revenue_change_pct
    ("books", 2, 3, D("20.00"), 2, D("10.00"), 25.0),          # previous day 16.00
    ("toys", 1, 1, D("2.50"), 1, D("2.50"), None),
    ("uncategorized", 2, 4, D("20.01"), 1, D("10.01"), None),
]

# ----------------------------------------------------------------------------- tests


def frames(spark):
    from lakehouse_jobs import contract as c

    return (
        spark.createDataFrame(PRODUCTS, c.PRODUCTS_SCHEMA),
        spark.createDataFrame(PAGE_VIEWS, c.PAGE_VIEWS_SCHEMA),
        spark.createDataFrame(PURCHASES, c.PURCHASES_SCHEMA),
    )


def as_dicts(rows, schema):
    return [dict(zip(schema.names, row)) for row in rows]


def counts_for_day(rejected, day):
    return {r["reason"]: r["rows"] for r in rejected.where(rejected.event_date == day).collect()}


def test_page_view_faults_are_counted_by_reason_with_precedence(spark):
    from lakehouse_jobs import validity

    products, pv, _ = frames(spark)
    valid, rejected = validity.clean_page_views(pv, products)
    assert counts_for_day(rejected, DAY) == PAGE_VIEW_REJECTS
    assert counts_for_day(rejected, NEXT) == {}
    # date_format renders in the session time zone (UTC), whatever the machine's zone is.
    day_rows = valid.where(valid.event_date == DAY).withColumn(
        "hhmm", F.date_format("event_time", "HH:mm")).collect()
    assert sorted(r.event_id for r in day_rows) == VALID_EVENTS_DAY
    kept = {r.event_id: r for r in day_rows}
    assert kept["e7"].hhmm == "11:00"  # the earliest copy
    assert kept["e8"].customer_id == "c5"  # the null-key e8 does not make the valid one a duplicate
    assert valid.where(valid.event_date == NEXT).count() == 1  # duplicates are per day


def test_purchase_faults_are_counted_by_reason_with_precedence(spark):
    from lakehouse_jobs import validity

    products, _, pu = frames(spark)
    valid, rejected = validity.clean_purchases(pu, products)
    assert counts_for_day(rejected, DAY) == PURCHASE_REJECTS
    rows = valid.where(valid.event_date == DAY).collect()
    assert sorted((r.order_id, r.product_id) for r in rows) == [
        ("o1", "P1"), ("o1", "P3"), ("o11", "P1"), ("o12", "P2"), ("o2", "P2")]
    assert {(r.order_id, r.product_id): r.quantity for r in rows}[("o2", "P2")] == 3  # earliest kept
    assert {r.product_id: r.category for r in rows} == {"P1": "books", "P3": "toys", "P2": "uncategorized"}
    assert validity.counts_by_reason(rejected.where(rejected.event_date == DAY), "silver.purchases") \
        == PURCHASE_REJECTS


def test_oracle_agrees_on_the_hand_built_rows(spark):
    """The oracle's independent validity gives the same hand-computed answer."""
    from lakehouse_jobs import contract as c

    categories = oracle.product_categories(as_dicts(PRODUCTS, c.PRODUCTS_SCHEMA))
    day_pv = [r for r in as_dicts(PAGE_VIEWS, c.PAGE_VIEWS_SCHEMA) if r["event_date"] == DAY]
    day_pu = [r for r in as_dicts(PURCHASES, c.PURCHASES_SCHEMA) if r["event_date"] == DAY]
    valid_pv, rejected_pv = oracle.valid_page_views(day_pv, categories)
    valid_pu, rejected_pu = oracle.valid_purchases(day_pu, categories)
    assert dict(rejected_pv) == PAGE_VIEW_REJECTS
    assert dict(rejected_pu) == PURCHASE_REJECTS
    assert sorted(r["event_id"] for r in valid_pv) == VALID_EVENTS_DAY
    assert sum(r["quantity"] * r["unit_price"] for r in valid_pu) == REVENUE_DAY


@pytest.fixture
def handbuilt_catalog(spark, scratch):
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.io import write_table

    name, directory, pyi = scratch
    products, pv, pu = frames(spark)
    write_table(spark, products, c.PRODUCTS, catalog=name)
    write_table(spark, pv, c.PAGE_VIEWS, DAY, NEXT, catalog=name)
    write_table(spark, pu, c.PURCHASES, PREV, DAY, catalog=name)
    return name, pyi


def test_gold_excludes_dirty_rows_and_pipes_metadata_counts_them(spark, handbuilt_catalog, pipes):
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.cli import main_gold

    name, pyi = handbuilt_catalog
    argv = ["--date", DAY.isoformat(), "--catalog", name]
    result, messages = pipes(lambda: main_gold(c.CUSTOMER_ANALYTICS, argv, spark=spark),
                             asset_keys=["gold/daily_customer_analytics"])

    materializations = [m for m in messages if m["method"] == "report_asset_materialization"]
    assert len(materializations) == 1
    meta = {k: v["raw_value"] for k, v in materializations[0]["params"]["metadata"].items()}
    for reason, rows in PAGE_VIEW_REJECTS.items():
        assert meta[f"rejected.page_views.{reason}"] == rows
    for reason, rows in PURCHASE_REJECTS.items():
        assert meta[f"rejected.purchases.{reason}"] == rows
    assert meta["rejected_rows"] == sum(PAGE_VIEW_REJECTS.values()) + sum(PURCHASE_REJECTS.values())
    assert meta["revenue"] == float(REVENUE_DAY) and meta["rows"] == len(CUSTOMER_ROWS)
    [custom] = [m["params"]["payload"] for m in messages if m["method"] == "report_custom_message"]
    assert custom["partitions"][DAY.isoformat()]["revenue"] == str(REVENUE_DAY)  # exact, per date
    assert meta["dates"] == [DAY.isoformat()]

    rows = oracle.actual_gold(pyi, c.CUSTOMER_ANALYTICS, DAY)
    got = [tuple(r[k] for k in list(r)[1:]) for r in rows]
    assert got == CUSTOMER_ROWS
    assert oracle.compare_gold(pyi, DAY, tables=[c.CUSTOMER_ANALYTICS]) == {}
    checks = {m["params"]["check_name"]: m["params"]["passed"]
              for m in messages if m["method"] == "report_asset_check"}
    assert checks == {"completeness": True, "revenue_matches_silver": True, "segment_logic": True}


def test_sales_summary_hand_built(spark, handbuilt_catalog):
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.cli import run_gold_job

    name, pyi = handbuilt_catalog
    result = run_gold_job(spark, c.SALES_SUMMARY, DAY, DAY, name)
    assert result.rejected == {"silver.purchases": PURCHASE_REJECTS}
    rows = oracle.actual_gold(pyi, c.SALES_SUMMARY, DAY)
    assert [tuple(r[k] for k in list(r)[1:]) for r in rows] == SALES_ROWS
    assert all(check["passed"] for check in result.checks)
