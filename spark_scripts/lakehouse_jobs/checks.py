"""Data-quality checks on written gold, computed in Spark; each returns a small plain dict:

    {"check_name": str, "passed": bool, "severity": "ERROR" | "WARN", "metadata": {...}}

ERROR = reconciliation with silver or a metric outside its domain (blocking);
WARN = internal consistency of derived columns.

Each check is a *plan* (a DataFrame of its statistics plus a function turning the collected rows
into the result) so a table's checks run in ONE Spark action (`run_plans`: the statistics of every
check, unioned as string maps), not one or more actions per check. Calling a check function alone
runs the very same plan by itself.

No check imports the builder (gold.py): each states its invariant from the contract on its own,
so a wrong rule in the builder fails it instead of being repeated by it.
"""

import datetime as dt
from decimal import Decimal
from typing import Callable, NamedTuple

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from . import contract as c

ERROR, WARN = "ERROR", "WARN"


def _result(name: str, passed: bool, severity: str, **metadata) -> dict:
    return {"check_name": name, "passed": bool(passed), "severity": severity, "metadata": metadata}


def _count_if(cond: F.Column) -> F.Column:
    """Rows where cond is true (0 on an empty input, never null)."""
    return F.count(F.when(cond, F.lit(1)))


class Plan(NamedTuple):
    """A check's statistics (`stats`, a DataFrame of a few rows) and how its rows become a result."""

    stats: DataFrame
    finish: Callable[[list[dict]], dict]


def _parse(value: str | None, dtype: T.DataType):
    """A value cast to string by Spark, back to the Python value collect() would have returned."""
    if value is None:
        return None
    if isinstance(dtype, T.DecimalType):
        return Decimal(value)
    if isinstance(dtype, (T.LongType, T.IntegerType, T.ShortType, T.ByteType)):
        return int(value)
    if isinstance(dtype, (T.DoubleType, T.FloatType)):
        return float(value)
    if isinstance(dtype, T.DateType):
        return dt.date.fromisoformat(value)
    if isinstance(dtype, T.BooleanType):
        return value == "true"
    return value


def run_plans(plans: dict[str, Plan]) -> dict[str, dict]:
    """Every plan's statistics in one Spark action, then each plan's result, by name.

    The statistics of different checks have different columns, so each row goes through the union
    as a map of column -> value cast to string, and comes back with the column's own type (exact:
    decimals and dates print as themselves, doubles with enough digits to round-trip).
    """
    if not plans:
        return {}
    parts = []
    for name, plan in plans.items():
        cols = plan.stats.columns
        packed = F.create_map(*[x for col in cols for x in (F.lit(col), F.col(col).cast("string"))])
        parts.append(plan.stats.select(F.lit(name).alias("_check"), packed.alias("_stats")))
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    rows: dict[str, list[dict]] = {name: [] for name in plans}
    for row in union.collect():
        rows[row["_check"]].append(row["_stats"])
    out = {}
    for name, plan in plans.items():
        types = {f.name: f.dataType for f in plan.stats.schema.fields}
        parsed = [{col: _parse(r.get(col), dtype) for col, dtype in types.items()} for r in rows[name]]
        out[name] = plan.finish(parsed)
    return out


def _run(plan: Plan) -> dict:
    return run_plans({"check": plan})["check"]


def _single(finish: Callable[[dict], dict]) -> Callable[[list[dict]], dict]:
    """finish() of a one-row statistics DataFrame (a global aggregate)."""
    return lambda rows: finish(rows[0])


def revenue_matches_silver(gold: DataFrame, valid_pu: DataFrame) -> dict:
    """Per date, Σ gold revenue == Σ quantity × unit_price of valid silver lines, to the cent."""
    return _run(plan_revenue_matches_silver(gold, valid_pu))


def plan_revenue_matches_silver(gold: DataFrame, valid_pu: DataFrame) -> Plan:
    g = gold.groupBy("date").agg(F.sum("revenue").alias("gold"))
    # The line's amount written here, not taken from gold.py: a wrong rule in the builder must
    # not be mirrored by the check (decimal x int is exact in Spark: the int becomes decimal(10,0)).
    s = valid_pu.groupBy(F.col("event_date").alias("date")).agg(
        F.sum(F.col("unit_price") * F.col("quantity")).alias("silver"))
    zero = F.lit(0).cast(c.MONEY)
    per_date = g.join(s, "date", "full").select(
        "date", F.coalesce("gold", zero).alias("gold"), F.coalesce("silver", zero).alias("silver")
    )
    return Plan(per_date, _revenue_result)


def _revenue_result(rows: list[dict]) -> dict:
    bad = sorted(r["date"].isoformat() for r in rows if r["gold"] != r["silver"])
    gold_total = sum((r["gold"] for r in rows), 0)
    silver_total = sum((r["silver"] for r in rows), 0)
    return _result(
        "revenue_matches_silver", not bad, ERROR,
        gold_revenue=str(gold_total), silver_revenue=str(silver_total), mismatched_dates=bad,
    )


def completeness(gold: DataFrame, valid_pv: DataFrame, valid_pu: DataFrame) -> dict:
    """Every (date, customer) active in valid silver appears exactly once; no null keys."""
    return _run(plan_completeness(gold, valid_pv, valid_pu))


def plan_completeness(gold: DataFrame, valid_pv: DataFrame, valid_pu: DataFrame) -> Plan:
    active = (
        valid_pv.select(F.col("event_date").alias("date"), "customer_id")
        .unionByName(valid_pu.select(F.col("event_date").alias("date"), "customer_id"))
        .distinct()
    )
    # One full join of gold's keys (with their row counts) and silver's active keys; nulls never
    # match, so a null-key gold row counts as unexpected, as a left-anti join would count it.
    keys = gold.groupBy("date", "customer_id").agg(F.count(F.lit(1)).alias("_n"))
    joined = keys.join(active.withColumn("_active", F.lit(True)), ["date", "customer_id"], "full")
    n, is_active = F.col("_n"), F.col("_active").isNotNull()
    null_key = F.col("date").isNull() | F.col("customer_id").isNull()
    stats = joined.agg(
        F.coalesce(F.sum(n), F.lit(0)).alias("rows"),
        _count_if(n.isNotNull() & ~null_key).alias("distinct_keys"),
        F.coalesce(F.sum(F.when(null_key, n)), F.lit(0)).alias("null_keys"),
        _count_if(is_active).alias("expected_customers"),
        _count_if(is_active & n.isNull()).alias("missing_customers"),
        F.coalesce(F.sum(F.when(~is_active, n)), F.lit(0)).alias("unexpected_customers"),
    )
    return Plan(stats, _single(_completeness_result))


def _completeness_result(stats: dict) -> dict:
    stats = dict(stats)
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
    return _run(plan_segment_logic(gold))


def plan_segment_logic(gold: DataFrame) -> Plan:
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
    stats = gold.agg(
        F.count(F.lit(1)).alias("rows"),
        _count_if(~holds).alias("wrong_segment"),
        *[_count_if(F.col("customer_segment") == s).alias(s) for s in c.SEGMENTS],
    )
    return Plan(stats, _single(_segment_result))


def _segment_result(stats: dict) -> dict:
    stats = {k: int(v or 0) for k, v in stats.items()}
    return _result("segment_logic", stats["wrong_segment"] == 0, WARN, **stats)


def orders_match_silver(gold: DataFrame, valid_pu: DataFrame) -> dict:
    """Per (date, category), orders == distinct order_id of valid silver lines in the category."""
    return _run(plan_orders_match_silver(gold, valid_pu))


def plan_orders_match_silver(gold: DataFrame, valid_pu: DataFrame) -> Plan:
    s = valid_pu.groupBy(F.col("event_date").alias("date"), "category").agg(
        F.countDistinct("order_id").alias("silver")
    )
    g = gold.select("date", "category", F.col("orders").alias("gold"))
    joined = g.join(s, ["date", "category"], "full")
    stats = joined.agg(
        F.coalesce(F.sum("gold"), F.lit(0)).alias("gold_orders"),
        F.coalesce(F.sum("silver"), F.lit(0)).alias("silver_orders"),
        _count_if(~F.col("gold").eqNullSafe(F.col("silver"))).alias("mismatched_groups"),
    )
    return Plan(stats, _single(_orders_result))


def _orders_result(stats: dict) -> dict:
    stats = {k: int(v or 0) for k, v in stats.items()}
    return _result("orders_match_silver", stats["mismatched_groups"] == 0, ERROR, **stats)


def conversion_rate_in_range(gold: DataFrame) -> dict:
    """conversion_rate within [0, 1], and null exactly when unique_viewers = 0."""
    return _run(plan_conversion_rate_in_range(gold))


def plan_conversion_rate_in_range(gold: DataFrame) -> Plan:
    rate = F.col("conversion_rate")
    stats = gold.agg(
        F.count(F.lit(1)).alias("rows"),
        _count_if(F.isnan(rate) | (rate < 0) | (rate > 1)).alias("out_of_range"),
        _count_if(rate.isNull() != (F.col("unique_viewers") == 0)).alias("inconsistent_nulls"),
        F.min(rate).alias("min_rate"),
        F.max(rate).alias("max_rate"),
    )
    return Plan(stats, _single(_rate_result))


def _rate_result(stats: dict) -> dict:
    passed = not stats["out_of_range"] and not stats["inconsistent_nulls"]
    # min/max are omitted (not None) when no row has a rate: metadata values stay non-null.
    stats = {k: v for k, v in stats.items() if v is not None}
    return _result("conversion_rate_in_range", passed, ERROR, **stats)


def views_ge_unique_viewers(gold: DataFrame) -> dict:
    """A product cannot have more distinct viewers than views."""
    return _run(plan_views_ge_unique_viewers(gold))


def plan_views_ge_unique_viewers(gold: DataFrame) -> Plan:
    stats = gold.agg(_count_if(F.col("views") < F.col("unique_viewers")).alias("n"))
    return Plan(stats, _single(lambda s: _result(
        "views_ge_unique_viewers", not s["n"], WARN, violating_rows=int(s["n"] or 0))))


def revenue_rank_dense(gold: DataFrame) -> dict:
    """revenue_rank is 1 + the number of distinct higher revenues on the same date.

    That is the definition of a dense rank, counted directly (no window function), so a builder
    using rank() or row_number(), or ordering the wrong way, fails here.
    """
    return _run(plan_revenue_rank_dense(gold))


def plan_revenue_rank_dense(gold: DataFrame) -> Plan:
    levels = gold.select(F.col("date").alias("_date"), F.col("revenue").alias("_higher")).distinct()
    row = ["date", "product_id", "category", "revenue", "revenue_rank"]
    counted = (
        gold.select(*row, F.monotonically_increasing_id().alias("_row"))
        .join(levels, (F.col("_date") == F.col("date")) & (F.col("_higher") > F.col("revenue")), "left")
        .groupBy("_row", "revenue_rank")
        .agg(F.countDistinct("_higher").alias("_above"))
    )
    stats = counted.agg(_count_if(~F.col("revenue_rank").eqNullSafe(F.col("_above") + 1)).alias("n"))
    return Plan(stats, _single(lambda s: _result(
        "revenue_rank_dense", not s["n"], WARN, wrong_ranks=int(s["n"] or 0))))


def plans_customer_analytics(gold: DataFrame, valid_pv: DataFrame, valid_pu: DataFrame) -> dict[str, Plan]:
    return {
        "completeness": plan_completeness(gold, valid_pv, valid_pu),
        "revenue_matches_silver": plan_revenue_matches_silver(gold, valid_pu),
        "segment_logic": plan_segment_logic(gold),
    }


def plans_sales_summary(gold: DataFrame, valid_pu: DataFrame) -> dict[str, Plan]:
    return {"revenue_matches_silver": plan_revenue_matches_silver(gold, valid_pu),
            "orders_match_silver": plan_orders_match_silver(gold, valid_pu)}


def plans_product_performance(gold: DataFrame) -> dict[str, Plan]:
    return {"conversion_rate_in_range": plan_conversion_rate_in_range(gold),
            "views_ge_unique_viewers": plan_views_ge_unique_viewers(gold),
            "revenue_rank_dense": plan_revenue_rank_dense(gold)}


def check_customer_analytics(gold: DataFrame, valid_pv: DataFrame, valid_pu: DataFrame) -> list[dict]:
    """The table's three checks in one Spark action, in CHECK_NAMES order."""
    return list(run_plans(plans_customer_analytics(gold, valid_pv, valid_pu)).values())


def check_sales_summary(gold: DataFrame, valid_pu: DataFrame) -> list[dict]:
    return list(run_plans(plans_sales_summary(gold, valid_pu)).values())


def check_product_performance(gold: DataFrame) -> list[dict]:
    return list(run_plans(plans_product_performance(gold)).values())


CHECK_NAMES = c.CHECK_NAMES  # the names and their 'passes when' live in tables.py
