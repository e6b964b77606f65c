"""Gold tables from VALID silver rows (see validity.py): pure DataFrame -> DataFrame, multi-date.

Inputs carry silver columns plus `category`; outputs have exactly the contract schema.
Money is exact decimal throughout; averages and percentages are rounded HALF_UP.
"""

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from . import contract as c


def line_revenue() -> F.Column:
    """quantity x unit_price as an exact decimal(21,2)."""
    return F.col("quantity").cast("decimal(10,0)") * F.col("unit_price")


def _money(col: F.Column) -> F.Column:
    return col.cast(c.MONEY)


def _avg_order_value(revenue: F.Column, orders: F.Column) -> F.Column:
    # decimal(18,2) / long keeps 22 fractional digits before the HALF_UP round to cents, so the
    # double rounding cannot change the result; null (not a division error) when there is no order.
    return F.when(orders > 0, _money(F.round(_money(revenue) / orders, 2)))


def build_customer_analytics(valid_pv: DataFrame, valid_pu: DataFrame) -> DataFrame:
    """One row per (date, customer_id) with a valid page view or purchase line that day."""
    # Two plain aggregations instead of count + two countDistinct (which Spark evaluates by
    # expanding every row 3x): page views per session, then per customer (sessions = non-null
    # session ids, as countDistinct counts them), and the distinct product views per customer.
    day_customer = [F.col("event_date").alias("date"), "customer_id"]
    per_session = valid_pv.groupBy(*day_customer, "session_id").agg(F.count(F.lit(1)).alias("_n"))
    products = (
        valid_pv.where(F.col("page_type") == "product").select(*day_customer, "product_id").distinct()
        .groupBy("date", "customer_id").agg(F.count("product_id").alias("products_viewed"))
    )
    views = (
        per_session.groupBy("date", "customer_id")
        .agg(F.sum("_n").alias("page_views"), F.count("session_id").alias("sessions"))
        .join(products, on=["date", "customer_id"], how="left")
        .withColumn("products_viewed", F.coalesce("products_viewed", F.lit(0).cast("long")))
    )
    buys = valid_pu.groupBy(F.col("event_date").alias("date"), "customer_id").agg(
        F.countDistinct("order_id").alias("orders"),
        F.sum("quantity").alias("items"),
        F.sum(line_revenue()).alias("revenue"),
    )
    zero = F.lit(0).cast("long")
    df = views.join(buys, on=["date", "customer_id"], how="full").select(
        "date",
        "customer_id",
        *[F.coalesce(col, zero).alias(col) for col in ("page_views", "sessions", "products_viewed")],
        *[F.coalesce(col, zero).alias(col) for col in ("orders", "items")],
        _money(F.coalesce("revenue", F.lit(0))).alias("revenue"),
    )
    segment = (
        F.when(F.col("revenue") >= F.lit(c.HIGH_VALUE_REVENUE).cast(c.MONEY), "high_value")
        .when(F.col("orders") >= 1, "buyer")
        .when(F.col("page_views") >= c.ENGAGED_PAGE_VIEWS, "engaged_browser")
        .otherwise("browser")
    )
    df = df.withColumn("avg_order_value", _avg_order_value(F.col("revenue"), F.col("orders")))
    return c.conform(df.withColumn("customer_segment", segment), c.CUSTOMER_ANALYTICS)


def _category_day(valid_pu: DataFrame) -> DataFrame:
    return valid_pu.groupBy(F.col("event_date").alias("date"), "category").agg(
        F.countDistinct("order_id").alias("orders"),
        F.sum("quantity").alias("items"),
        _money(F.sum(line_revenue())).alias("revenue"),
        F.countDistinct("customer_id").alias("customers"),
    )


def build_sales_summary(valid_pu: DataFrame, prev_valid_pu: DataFrame | None = None) -> DataFrame:
    """One row per (date, category) with a valid purchase line, for the dates in `valid_pu`.

    `prev_valid_pu` holds valid purchases of the day before the first date (None or empty when
    that day has none); later days find their previous day inside `valid_pu` itself.
    revenue_change_pct = round((revenue - prev) * 100 / prev, 2) HALF_UP as a double; null when
    the previous day has no valid purchases in the category (or their revenue is 0).
    """
    today = _category_day(valid_pu)
    history = valid_pu if prev_valid_pu is None else valid_pu.unionByName(prev_valid_pu)
    prev = (
        history.groupBy(F.date_add(F.col("event_date"), 1).alias("date"), "category")
        .agg(_money(F.sum(line_revenue())).alias("prev_revenue"))
    )
    df = today.join(prev, on=["date", "category"], how="left")
    # Cast the numerator to decimal(22,2): the quotient then keeps 16 fractional digits (not 8),
    # so rounding it to 2 places agrees with exact arithmetic.
    numerator = ((F.col("revenue") - F.col("prev_revenue")) * 100).cast("decimal(22,2)")
    pct = F.when(
        F.col("prev_revenue") != 0, F.round(numerator / F.col("prev_revenue"), 2).cast("double")
    )
    df = df.withColumn("avg_order_value", _avg_order_value(F.col("revenue"), F.col("orders")))
    return c.conform(df.withColumn("revenue_change_pct", pct), c.SALES_SUMMARY)


def build_product_performance(valid_pv: DataFrame, valid_pu: DataFrame) -> DataFrame:
    """One row per (date, product_id) with a valid product view or purchase line that day.

    conversion_rate = customers who viewed AND bought the product that day / unique_viewers (double,
    unrounded; null without viewers). revenue_rank = dense rank by revenue desc within the date.
    """
    product_views = valid_pv.where(F.col("page_type") == "product").select(
        F.col("event_date").alias("date"), "product_id", "category", "customer_id"
    )
    views = product_views.groupBy("date", "product_id", "category").agg(
        F.count(F.lit(1)).alias("views"),
        F.countDistinct("customer_id").alias("unique_viewers"),
    )
    sales = valid_pu.groupBy(F.col("event_date").alias("date"), "product_id", "category").agg(
        F.countDistinct("order_id").alias("orders"),
        F.sum("quantity").alias("units"),
        _money(F.sum(line_revenue())).alias("revenue"),
    )
    buyers = valid_pu.select(F.col("event_date").alias("date"), "product_id", "customer_id")
    converted = (
        product_views.select("date", "product_id", "customer_id")
        .distinct()
        .join(buyers.distinct(), on=["date", "product_id", "customer_id"], how="inner")
        .groupBy("date", "product_id")
        .agg(F.count(F.lit(1)).alias("converters"))
    )
    key = ["date", "product_id", "category"]
    zero = F.lit(0).cast("long")
    df = (
        views.join(sales, on=key, how="full")
        .join(converted, on=["date", "product_id"], how="left")
        .select(
            *key,
            *[F.coalesce(col, zero).alias(col) for col in ("views", "unique_viewers")],
            *[F.coalesce(col, zero).alias(col) for col in ("orders", "units")],
            _money(F.coalesce("revenue", F.lit(0))).alias("revenue"),
            F.coalesce("converters", zero).alias("converters"),
        )
    )
    rate = F.when(
        F.col("unique_viewers") > 0,
        F.col("converters").cast("double") / F.col("unique_viewers").cast("double"),
    )
    rank = F.dense_rank().over(Window.partitionBy("date").orderBy(F.col("revenue").desc()))
    df = df.withColumn("conversion_rate", rate).withColumn("revenue_rank", rank)
    return c.conform(df, c.PRODUCT_PERFORMANCE)
