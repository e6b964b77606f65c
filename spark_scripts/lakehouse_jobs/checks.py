"""Data-quality checks on written gold, computed in Spark; each returns a small plain dict:

    {"check_name": str, "passed": bool, "severity": "ERROR" | "WARN", "metadata": {...}}

ERROR = reconciliation with silver or a metric outside its domain (blocking);
WARN = internal consistency of derived columns.
"""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from . import contract as c
from .gold import line_revenue

ERROR, WARN = "ERROR", "WARN"


def _result(name: str, passed: bool, severity: str, **metadata) -> dict:
    return {"check_name": name, "passed": bool(passed), "severity": severity, "metadata": metadata}


def _count_if(cond: F.Column) -> F.Column:
    """Rows where cond is true (0 on an empty input, never null)."""
    return F.count(F.when(cond, F.lit(1)))


def _first(df: DataFrame) -> dict:
    return df.collect()[0].asDict()


def revenue_matches_silver(gold: DataFrame, valid_pu: DataFrame) -> dict:
    """Per date, Σ gold revenue == Σ quantity × unit_price of valid silver lines, to the cent."""
    g = gold.groupBy("date").agg(F.sum("revenue").alias("gold"))
    s = valid_pu.groupBy(F.col("event_date").alias("date")).agg(F.sum(line_revenue()).alias("silver"))
    zero = F.lit(0).cast(c.MONEY)
    per_date = g.join(s, "date", "full").select(
        "date", F.coalesce("gold", zero).alias("gold"), F.coalesce("silver", zero).alias("silver")
    )
    rows = per_date.collect()
    bad = sorted(r["date"].isoformat() for r in rows if r["gold"] != r["silver"])
    gold_total = sum((r["gold"] for r in rows), 0)
    silver_total = sum((r["silver"] for r in rows), 0)
    return _result(
        "revenue_matches_silver", not bad, ERROR,
        gold_revenue=str(gold_total), silver_revenue=str(silver_total), mismatched_dates=bad,
    )


def completeness(gold: DataFrame, valid_pv: DataFrame, valid_pu: DataFrame) -> dict:
    """Every (date, customer) active in valid silver appears exactly once; no null keys."""
    active = (
        valid_pv.select(F.col("event_date").alias("date"), "customer_id")
        .unionByName(valid_pu.select(F.col("event_date").alias("date"), "customer_id"))
        .distinct()
    )
    keys = gold.select("date", "customer_id")
    stats = _first(keys.agg(
        F.count(F.lit(1)).alias("rows"),
        F.countDistinct("date", "customer_id").alias("distinct_keys"),
        _count_if(F.col("date").isNull() | F.col("customer_id").isNull()).alias("null_keys"),
    ))
    stats["expected_customers"] = active.count()
    stats["missing_customers"] = active.join(keys, ["date", "customer_id"], "left_anti").count()
    stats["unexpected_customers"] = keys.join(active, ["date", "customer_id"], "left_anti").count()
    stats["duplicate_rows"] = stats["rows"] - stats["distinct_keys"] - stats["null_keys"]
    passed = (
        stats["null_keys"] == 0 and stats["rows"] == stats["distinct_keys"]
        and stats["missing_customers"] == 0 and stats["unexpected_customers"] == 0
    )
    return _result("completeness", passed, ERROR, **stats)


def segment_logic(gold: DataFrame) -> dict:
    """customer_segment agrees with the row's revenue, orders and page_views.

    Stated as what each segment *means* (docs/data-contract.md), one predicate per segment, not
    as the builder's first-match chain: a builder that orders or bounds its rules wrongly fails here.
    """
    revenue, orders, views = F.col("revenue"), F.col("orders"), F.col("page_views")
    rich = revenue >= F.lit(c.HIGH_VALUE_REVENUE).cast(c.MONEY)
    means = {
        "high_value": rich,
        "buyer": ~rich & (orders > 0),
        "engaged_browser": ~rich & (orders == 0) & (views >= c.ENGAGED_PAGE_VIEWS),
        "browser": ~rich & (orders == 0) & (views < c.ENGAGED_PAGE_VIEWS),
    }
    holds = F.lit(False)
    for segment, predicate in means.items():
        holds = F.when(F.col("customer_segment") == segment, F.coalesce(predicate, F.lit(False))).otherwise(holds)
    stats = _first(gold.agg(
        F.count(F.lit(1)).alias("rows"),
        _count_if(~holds).alias("wrong_segment"),
        *[_count_if(F.col("customer_segment") == s).alias(s) for s in c.SEGMENTS],
    ))
    stats = {k: int(v or 0) for k, v in stats.items()}
    return _result("segment_logic", stats["wrong_segment"] == 0, WARN, **stats)


def orders_match_silver(gold: DataFrame, valid_pu: DataFrame) -> dict:
    """Per (date, category), orders == distinct order_id of valid silver lines in the category."""
    s = valid_pu.groupBy(F.col("event_date").alias("date"), "category").agg(
        F.countDistinct("order_id").alias("silver")
    )
    g = gold.select("date", "category", F.col("orders").alias("gold"))
    joined = g.join(s, ["date", "category"], "full")
    stats = _first(joined.agg(
        F.coalesce(F.sum("gold"), F.lit(0)).alias("gold_orders"),
        F.coalesce(F.sum("silver"), F.lit(0)).alias("silver_orders"),
        _count_if(~F.col("gold").eqNullSafe(F.col("silver"))).alias("mismatched_groups"),
    ))
    stats = {k: int(v or 0) for k, v in stats.items()}
    return _result("orders_match_silver", stats["mismatched_groups"] == 0, ERROR, **stats)


def conversion_rate_in_range(gold: DataFrame) -> dict:
    """conversion_rate within [0, 1], and null exactly when unique_viewers = 0."""
    rate = F.col("conversion_rate")
    stats = _first(gold.agg(
        F.count(F.lit(1)).alias("rows"),
        _count_if(F.isnan(rate) | (rate < 0) | (rate > 1)).alias("out_of_range"),
        _count_if(rate.isNull() != (F.col("unique_viewers") == 0)).alias("inconsistent_nulls"),
        F.min(rate).alias("min_rate"),
        F.max(rate).alias("max_rate"),
    ))
    passed = not stats["out_of_range"] and not stats["inconsistent_nulls"]
    # min/max are omitted (not None) when no row has a rate: metadata values stay non-null.
    stats = {k: v for k, v in stats.items() if v is not None}
    return _result("conversion_rate_in_range", passed, ERROR, **stats)


def views_ge_unique_viewers(gold: DataFrame) -> dict:
    """A product cannot have more distinct viewers than views."""
    bad = _first(gold.agg(_count_if(F.col("views") < F.col("unique_viewers")).alias("n")))["n"]
    return _result("views_ge_unique_viewers", not bad, WARN, violating_rows=int(bad or 0))


def revenue_rank_dense(gold: DataFrame) -> dict:
    """revenue_rank is 1 + the number of distinct higher revenues on the same date.

    That is the definition of a dense rank, counted directly (no window function), so a builder
    using rank() or row_number(), or ordering the wrong way, fails here.
    """
    levels = gold.select(F.col("date").alias("_date"), F.col("revenue").alias("_higher")).distinct()
    row = ["date", "product_id", "category", "revenue", "revenue_rank"]
    counted = (
        gold.select(*row, F.monotonically_increasing_id().alias("_row"))
        .join(levels, (F.col("_date") == F.col("date")) & (F.col("_higher") > F.col("revenue")), "left")
        .groupBy("_row", "revenue_rank")
        .agg(F.countDistinct("_higher").alias("_above"))
    )
    bad = _first(counted.agg(
        _count_if(~F.col("revenue_rank").eqNullSafe(F.col("_above") + 1)).alias("n")
    ))["n"]
    return _result("revenue_rank_dense", not bad, WARN, wrong_ranks=int(bad or 0))


def check_customer_analytics(gold: DataFrame, valid_pv: DataFrame, valid_pu: DataFrame) -> list[dict]:
    return [
        completeness(gold, valid_pv, valid_pu),
        revenue_matches_silver(gold, valid_pu),
        segment_logic(gold),
    ]


def check_sales_summary(gold: DataFrame, valid_pu: DataFrame) -> list[dict]:
    return [revenue_matches_silver(gold, valid_pu), orders_match_silver(gold, valid_pu)]


def check_product_performance(gold: DataFrame) -> list[dict]:
    return [conversion_rate_in_range(gold), views_ge_unique_viewers(gold), revenue_rank_dense(gold)]


CHECK_NAMES = c.CHECK_NAMES  # the names and their 'passes when' live in tables.py
