"""Dirty rows: excluded from gold and counted by reason (hand-built rows, hand-computed counts)."""

import datetime as dt
from collections import Counter

import pytest

from . import handbuilt as hb
from . import oracle


def frames(spark):
    from lakehouse_jobs import contract as c

    return (
        spark.createDataFrame(hb.PRODUCTS, c.PRODUCTS_SCHEMA),
        spark.createDataFrame(hb.PAGE_VIEWS, c.PAGE_VIEWS_SCHEMA),
        spark.createDataFrame(hb.PURCHASES, c.PURCHASES_SCHEMA),
    )


def as_dicts(rows, schema):
    return [dict(zip(schema.names, row)) for row in rows]


def counts_for_day(rejected, day):
    return {r["reason"]: r["rows"] for r in rejected.where(rejected.event_date == day).collect()}


def test_page_view_faults_are_counted_by_reason_with_precedence(spark):
    from lakehouse_jobs import validity

    products, pv, _ = frames(spark)
    valid, rejected = validity.clean_page_views(pv, products)
    assert counts_for_day(rejected, hb.DAY) == hb.PAGE_VIEW_REJECTS
    assert counts_for_day(rejected, hb.NEXT) == {}
    day_rows = valid.where(valid.event_date == hb.DAY).collect()
    assert sorted(r.event_id for r in day_rows) == hb.VALID_EVENTS_DAY
    kept = {r.event_id: r for r in day_rows}
    assert kept["e7"].event_time.hour == 11 and kept["e7"].event_time.minute == 0  # earliest copy
    assert kept["e8"].customer_id == "c5"  # the null-key e8 does not make the valid one a duplicate
    assert valid.where(valid.event_date == hb.NEXT).count() == 1  # duplicates are per day


def test_purchase_faults_are_counted_by_reason_with_precedence(spark):
    from lakehouse_jobs import validity

    products, _, pu = frames(spark)
    valid, rejected = validity.clean_purchases(pu, products)
    assert counts_for_day(rejected, hb.DAY) == hb.PURCHASE_REJECTS
    rows = valid.where(valid.event_date == hb.DAY).collect()
    assert sorted((r.order_id, r.product_id) for r in rows) == [
        ("o1", "P1"), ("o1", "P3"), ("o11", "P1"), ("o12", "P2"), ("o2", "P2")]
    assert {(r.order_id, r.product_id): r.quantity for r in rows}[("o2", "P2")] == 3  # earliest kept
    assert {r.product_id: r.category for r in rows} == {"P1": "books", "P3": "toys", "P2": "uncategorized"}
    assert validity.counts_by_reason(rejected.where(rejected.event_date == hb.DAY), "silver.purchases") \
        == hb.PURCHASE_REJECTS


def test_oracle_agrees_on_the_hand_built_rows(spark):
    """The oracle's independent validity gives the same hand-computed answer."""
    from lakehouse_jobs import contract as c

    categories = oracle.product_categories(as_dicts(hb.PRODUCTS, c.PRODUCTS_SCHEMA))
    day_pv = [r for r in as_dicts(hb.PAGE_VIEWS, c.PAGE_VIEWS_SCHEMA) if r["event_date"] == hb.DAY]
    day_pu = [r for r in as_dicts(hb.PURCHASES, c.PURCHASES_SCHEMA) if r["event_date"] == hb.DAY]
    valid_pv, rejected_pv = oracle.valid_page_views(day_pv, categories)
    valid_pu, rejected_pu = oracle.valid_purchases(day_pu, categories)
    assert dict(rejected_pv) == hb.PAGE_VIEW_REJECTS
    assert dict(rejected_pu) == hb.PURCHASE_REJECTS
    assert sorted(r["event_id"] for r in valid_pv) == hb.VALID_EVENTS_DAY
    assert sum(r["quantity"] * r["unit_price"] for r in valid_pu) == hb.REVENUE_DAY


@pytest.fixture
def handbuilt_catalog(spark, scratch):
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.io import write_table

    name, directory, pyi = scratch
    products, pv, pu = frames(spark)
    write_table(spark, products, c.PRODUCTS, catalog=name)
    write_table(spark, pv, c.PAGE_VIEWS, hb.DAY, hb.NEXT, catalog=name)
    write_table(spark, pu, c.PURCHASES, hb.PREV, hb.DAY, catalog=name)
    return name, pyi


def test_gold_excludes_dirty_rows_and_pipes_metadata_counts_them(spark, handbuilt_catalog, pipes):
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.cli import main_gold

    name, pyi = handbuilt_catalog
    argv = ["--date", hb.DAY.isoformat(), "--catalog", name]
    result, messages = pipes(lambda: main_gold(c.CUSTOMER_ANALYTICS, argv, spark=spark),
                             asset_keys=["gold/daily_customer_analytics"])

    materializations = [m for m in messages if m["method"] == "report_asset_materialization"]
    assert len(materializations) == 1
    meta = {k: v["raw_value"] for k, v in materializations[0]["params"]["metadata"].items()}
    for reason, rows in hb.PAGE_VIEW_REJECTS.items():
        assert meta[f"rejected.page_views.{reason}"] == rows
    for reason, rows in hb.PURCHASE_REJECTS.items():
        assert meta[f"rejected.purchases.{reason}"] == rows
    assert meta["rejected_rows"] == sum(hb.PAGE_VIEW_REJECTS.values()) + sum(hb.PURCHASE_REJECTS.values())
    assert meta["revenue_exact"] == str(hb.REVENUE_DAY) and meta["rows"] == len(hb.CUSTOMER_ROWS)
    assert meta["dates"] == [hb.DAY.isoformat()]

    rows = oracle.actual_gold(pyi, c.CUSTOMER_ANALYTICS, hb.DAY)
    got = [tuple(r[k] for k in list(r)[1:]) for r in rows]
    assert got == hb.CUSTOMER_ROWS
    assert oracle.compare_gold(pyi, hb.DAY, tables=[c.CUSTOMER_ANALYTICS]) == {}
    checks = {m["params"]["check_name"]: m["params"]["passed"]
              for m in messages if m["method"] == "report_asset_check"}
    assert checks == {"completeness": True, "revenue_matches_silver": True, "segment_logic": True}


def test_sales_summary_hand_built(spark, handbuilt_catalog):
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.cli import run_gold_job

    name, pyi = handbuilt_catalog
    result = run_gold_job(spark, c.SALES_SUMMARY, hb.DAY, hb.DAY, name)
    assert result.rejected == {"silver.purchases": hb.PURCHASE_REJECTS}
    rows = oracle.actual_gold(pyi, c.SALES_SUMMARY, hb.DAY)
    assert [tuple(r[k] for k in list(r)[1:]) for r in rows] == hb.SALES_ROWS
    assert all(check["passed"] for check in result.checks)
