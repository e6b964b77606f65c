"""Gold against the independent oracle, the revenue invariant, checks, idempotency."""

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from . import oracle
from .conftest import SILVER_END, SILVER_START


@pytest.fixture(scope="module")
def gold_run(spark, silver):
    """All three gold scripts over the whole silver range in one run each (multi-date)."""
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.cli import main_gold

    argv = ["--start", SILVER_START, "--end", SILVER_END]
    return {table: main_gold(table, argv, spark=spark) for table in c.GOLD_TABLES}


DAYS = [dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 3)]


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_gold_matches_independent_oracle(gold_run, catalog, day):
    assert oracle.compare_gold(catalog, day) == {}


def test_gold_is_not_trivial(gold_run, catalog):
    """Guard the oracle comparison against vacuous data: every segment, pct and rank appear."""
    rows = {t: [r for d in DAYS for r in oracle.actual_gold(catalog, t, d)] for t in oracle.GOLD_TABLES}
    assert {r["customer_segment"] for r in rows[oracle.CUSTOMER]} == {
        "high_value", "buyer", "engaged_browser", "browser"}
    assert any(r["revenue_change_pct"] is not None for r in rows[oracle.SALES])
    assert any(r["revenue_change_pct"] is None for r in rows[oracle.SALES])  # first day
    assert max(r["revenue_rank"] for r in rows[oracle.PRODUCT]) > 3


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_revenue_is_equal_in_all_gold_tables_and_valid_silver(gold_run, catalog, day):
    totals = {t: sum((r["revenue"] for r in oracle.actual_gold(catalog, t, day)), Decimal("0"))
              for t in oracle.GOLD_TABLES}
    silver_revenue = oracle.valid_silver_revenue(catalog, day)
    assert silver_revenue > 0
    assert set(totals.values()) == {silver_revenue}, totals


def test_run_results_and_checks(gold_run, catalog):
    from lakehouse_jobs import checks

    revenue = sum(oracle.valid_silver_revenue(catalog, d) for d in DAYS)
    for table, result in gold_run.items():
        assert result.revenue == revenue
        assert [c["check_name"] for c in result.checks] == list(checks.CHECK_NAMES[table])
        assert all(c["passed"] for c in result.checks), result.checks
        assert all(c["severity"] in ("ERROR", "WARN") for c in result.checks)
        assert result.dates == [d.isoformat() for d in DAYS]
        snapshot = catalog.load_table(table).snapshot_by_id(result.snapshot_id)
        assert snapshot is not None and snapshot.summary.operation.value == "overwrite"
    rejected = gold_run[oracle.CUSTOMER].rejected
    expected = {t: {r: sum(oracle.expected_rejections(catalog, d)[t][r] for d in DAYS) for r in reasons}
                for t, reasons in ((oracle.PAGE_VIEWS, oracle.PAGE_VIEW_REASONS),
                                   (oracle.PURCHASES, oracle.PURCHASE_REASONS))}
    assert rejected == expected


def test_checks_fail_on_broken_gold(spark, gold_run):
    """Each check can fail: feed it gold with the fault it is meant to catch."""
    from lakehouse_jobs import checks
    from lakehouse_jobs import contract as c
    from lakehouse_jobs import validity
    from lakehouse_jobs.io import read_gold, read_silver

    day = dt.date(2024, 1, 2)
    products = read_silver(spark, c.PRODUCTS)
    valid_pv, _ = validity.clean_page_views(read_silver(spark, c.PAGE_VIEWS, day, day), products)
    valid_pu, _ = validity.clean_purchases(read_silver(spark, c.PURCHASES, day, day), products)
    cust = read_gold(spark, c.CUSTOMER_ANALYTICS, day, day)
    sales = read_gold(spark, c.SALES_SUMMARY, day, day)
    prod = read_gold(spark, c.PRODUCT_PERFORMANCE, day, day)
    first = cust.orderBy("customer_id").first()["customer_id"]

    assert not checks.completeness(cust.where(F.col("customer_id") != first), valid_pv, valid_pu)["passed"]
    assert not checks.completeness(cust.unionByName(cust.limit(1)), valid_pv, valid_pu)["passed"]
    bumped = cust.withColumn("revenue", F.col("revenue") + F.lit(Decimal("0.01")))
    result = checks.revenue_matches_silver(bumped, valid_pu)
    assert not result["passed"] and result["metadata"]["mismatched_dates"] == [day.isoformat()]
    assert not checks.segment_logic(cust.withColumn("customer_segment", F.lit("browser")))["passed"]
    assert not checks.orders_match_silver(sales.withColumn("orders", F.col("orders") + 1), valid_pu)["passed"]
    assert not checks.conversion_rate_in_range(prod.withColumn("conversion_rate", F.lit(1.5)))["passed"]
    assert not checks.views_ge_unique_viewers(prod.withColumn("views", F.lit(0)))["passed"]
    assert not checks.revenue_rank_dense(prod.withColumn("revenue_rank", F.col("revenue_rank") * 2))["passed"]

    # A table's checks run together in one Spark action: the same verdicts and metadata, by name.
    together = checks.check_customer_analytics(bumped, valid_pv, valid_pu)
    assert [r["check_name"] for r in together] == list(checks.CHECK_NAMES[c.CUSTOMER_ANALYTICS])
    assert [r["passed"] for r in together] == [True, False, True]
    assert together[1] == result
    assert together[0] == checks.completeness(bumped, valid_pv, valid_pu)
    broken = checks.check_product_performance(prod.withColumn("views", F.lit(0)))
    assert [r["passed"] for r in broken] == [True, False, True], broken
    assert not any(r["passed"] for r in checks.check_sales_summary(
        sales.withColumn("orders", F.col("orders") + 1).withColumn("revenue", F.col("revenue") * 2), valid_pu))


def test_checks_catch_a_wrong_rule_in_the_builder(spark, gold_run):
    """The checks do not share the builder's expressions: gold built with a plausible but wrong
    rule (rules in the wrong order; rank() or row_number() instead of a dense rank) fails them."""
    from pyspark.sql import Window

    from lakehouse_jobs import checks
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.io import read_gold

    day = dt.date(2024, 1, 2)
    cust = read_gold(spark, c.CUSTOMER_ANALYTICS, day, day)
    prod = read_gold(spark, c.PRODUCT_PERFORMANCE, day, day)
    assert checks.segment_logic(cust)["passed"] and checks.revenue_rank_dense(prod)["passed"]

    buyer_first = (F.when(F.col("orders") >= 1, "buyer")
                   .when(F.col("revenue") >= F.lit(c.HIGH_VALUE_REVENUE).cast(c.MONEY), "high_value")
                   .when(F.col("page_views") >= c.ENGAGED_PAGE_VIEWS, "engaged_browser").otherwise("browser"))
    assert cust.where(F.col("customer_segment") == "high_value").count() > 0  # the fault is observable
    wrong = checks.segment_logic(cust.withColumn("customer_segment", buyer_first))
    assert not wrong["passed"] and wrong["metadata"]["wrong_segment"] > 0, wrong
    engaged_strict = (F.when(F.col("revenue") >= F.lit(c.HIGH_VALUE_REVENUE).cast(c.MONEY), "high_value")
                      .when(F.col("orders") >= 1, "buyer")
                      .when(F.col("page_views") > F.lit(10**9), "engaged_browser").otherwise("browser"))
    assert not checks.segment_logic(cust.withColumn("customer_segment", engaged_strict))["passed"]

    # Revenues rounded down to the hundred tie many products, where rank() and dense_rank() differ.
    tied = prod.withColumn("revenue", (F.floor(F.col("revenue") / 100) * 100).cast(c.MONEY))
    by_revenue = Window.partitionBy("date").orderBy(F.col("revenue").desc())
    assert tied.groupBy("revenue").count().where(F.col("count") > 1).count() > 0
    assert checks.revenue_rank_dense(tied.withColumn("revenue_rank", F.dense_rank().over(by_revenue)))["passed"]
    for wrong_rank in (F.rank().over(by_revenue), F.row_number().over(by_revenue),
                       F.dense_rank().over(Window.partitionBy("date").orderBy(F.col("revenue").asc()))):
        result = checks.revenue_rank_dense(tied.withColumn("revenue_rank", wrong_rank))
        assert not result["passed"] and result["metadata"]["wrong_ranks"] > 0, result

    # Revenue as the sum of unit prices (quantity forgotten): the check's own line amount disagrees.
    from lakehouse_jobs import validity
    from lakehouse_jobs.io import read_silver

    valid_pu, _ = validity.clean_purchases(read_silver(spark, c.PURCHASES, day, day),
                                           read_silver(spark, c.PRODUCTS))
    assert valid_pu.where(F.col("quantity") > 1).count() > 0  # the fault is observable
    price_only = valid_pu.groupBy(F.col("event_date").alias("date"), "customer_id").agg(
        F.sum("unit_price").alias("_price_only"))
    wrong = (cust.join(price_only, ["date", "customer_id"], "left")
             .withColumn("revenue", F.coalesce("_price_only", F.lit(0)).cast(c.MONEY)).drop("_price_only"))
    assert not checks.revenue_matches_silver(wrong, valid_pu)["passed"]


def test_no_check_reuses_the_builders_expressions():
    """The checks state their invariants on their own: checks.py imports nothing of gold.py, so a
    wrong rule there (line revenue, segment, rank) cannot be repeated by the check meant to catch it."""
    import ast
    from pathlib import Path

    import lakehouse_jobs.checks

    tree = ast.parse(Path(lakehouse_jobs.checks.__file__).read_text())
    imported = {(n.module or "") for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert not {m for m in imported if m.split(".")[-1] == "gold"}, imported


def test_same_date_three_times_is_idempotent(spark, gold_run, catalog):
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.cli import run_gold_job

    day = dt.date(2024, 1, 2)
    before_other_day = oracle.actual_gold(catalog, c.CUSTOMER_ANALYTICS, dt.date(2024, 1, 1))
    snapshots, results = [], []
    for _ in range(3):
        result = run_gold_job(spark, c.CUSTOMER_ANALYTICS, day, day)
        snapshots.append(result.snapshot_id)
        results.append(oracle.actual_gold(catalog, c.CUSTOMER_ANALYTICS, day))
    assert results[0] == results[1] == results[2] and len(results[0]) > 0
    assert len(set(snapshots)) == 3  # three commits, one partition's worth of rows
    table = catalog.load_table(c.CUSTOMER_ANALYTICS)
    partitions = [p for p in table.inspect.partitions().to_pylist() if p["partition"]["date"] == day]
    assert len(partitions) == 1 and partitions[0]["record_count"] == len(results[0])
    assert oracle.actual_gold(catalog, c.CUSTOMER_ANALYTICS, dt.date(2024, 1, 1)) == before_other_day
