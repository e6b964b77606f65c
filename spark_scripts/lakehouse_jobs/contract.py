"""The lakehouse data contract: table names, schemas and rejection reasons (one source of truth).

docs/data-contract.md describes the same contract in prose; keep the two in step.
"""

from pyspark.sql.types import (
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

CATALOG = "lakehouse"
SILVER_NAMESPACE = "silver"
GOLD_NAMESPACE = "gold"

PRODUCTS = "silver.products"
PAGE_VIEWS = "silver.page_views"
PURCHASES = "silver.purchases"

CUSTOMER_ANALYTICS = "gold.daily_customer_analytics"
SALES_SUMMARY = "gold.daily_sales_summary"
PRODUCT_PERFORMANCE = "gold.product_performance_analytics"

SILVER_TABLES = (PRODUCTS, PAGE_VIEWS, PURCHASES)
GOLD_TABLES = (CUSTOMER_ANALYTICS, SALES_SUMMARY, PRODUCT_PERFORMANCE)

SILVER_DATE_COLUMN = "event_date"  # identity partition of the silver fact tables
GOLD_DATE_COLUMN = "date"  # identity partition of every gold table

# Money: silver prices are decimal(10,2); gold sums and averages are decimal(18,2).
PRICE = DecimalType(10, 2)
MONEY = DecimalType(18, 2)

# Category given to products whose silver.products category is null, so gold keys are never null.
UNCATEGORIZED = "uncategorized"
HIGH_VALUE_REVENUE = "500.00"  # customer_segment 'high_value' threshold (inclusive)
ENGAGED_PAGE_VIEWS = 10  # customer_segment 'engaged_browser' threshold (inclusive)


def _schema(*fields: tuple) -> StructType:
    # Every column is nullable in storage: silver must be able to hold dirty rows, and gold
    # key non-nullness is enforced by the checks rather than by Iceberg `required` fields.
    return StructType([StructField(name, dtype, True) for name, dtype in fields])


PRODUCTS_SCHEMA = _schema(
    ("product_id", StringType()),
    ("product_name", StringType()),
    ("category", StringType()),
    ("price", PRICE),
    ("updated_at", TimestampType()),
)
PAGE_VIEWS_SCHEMA = _schema(
    ("event_id", StringType()),
    ("session_id", StringType()),
    ("customer_id", StringType()),
    ("product_id", StringType()),
    ("page_type", StringType()),
    ("event_time", TimestampType()),
    ("event_date", DateType()),
)
PURCHASES_SCHEMA = _schema(
    ("order_id", StringType()),
    ("customer_id", StringType()),
    ("product_id", StringType()),
    ("quantity", IntegerType()),
    ("unit_price", PRICE),
    ("event_time", TimestampType()),
    ("event_date", DateType()),
)

CUSTOMER_ANALYTICS_SCHEMA = _schema(
    ("date", DateType()),
    ("customer_id", StringType()),
    ("page_views", LongType()),
    ("sessions", LongType()),
    ("products_viewed", LongType()),
    ("orders", LongType()),
    ("items", LongType()),
    ("revenue", MONEY),
    ("avg_order_value", MONEY),
    ("customer_segment", StringType()),
)
SALES_SUMMARY_SCHEMA = _schema(
    ("date", DateType()),
    ("category", StringType()),
    ("orders", LongType()),
    ("items", LongType()),
    ("revenue", MONEY),
    ("customers", LongType()),
    ("avg_order_value", MONEY),
    ("revenue_change_pct", DoubleType()),
)
PRODUCT_PERFORMANCE_SCHEMA = _schema(
    ("date", DateType()),
    ("product_id", StringType()),
    ("category", StringType()),
    ("views", LongType()),
    ("unique_viewers", LongType()),
    ("orders", LongType()),
    ("units", LongType()),
    ("revenue", MONEY),
    ("conversion_rate", DoubleType()),
    ("revenue_rank", IntegerType()),
)

SCHEMAS = {
    PRODUCTS: PRODUCTS_SCHEMA,
    PAGE_VIEWS: PAGE_VIEWS_SCHEMA,
    PURCHASES: PURCHASES_SCHEMA,
    CUSTOMER_ANALYTICS: CUSTOMER_ANALYTICS_SCHEMA,
    SALES_SUMMARY: SALES_SUMMARY_SCHEMA,
    PRODUCT_PERFORMANCE: PRODUCT_PERFORMANCE_SCHEMA,
}
# Partition column per table (identity transform); products is an unpartitioned full snapshot.
PARTITION_COLUMN = {
    PRODUCTS: None,
    PAGE_VIEWS: SILVER_DATE_COLUMN,
    PURCHASES: SILVER_DATE_COLUMN,
    **{t: GOLD_DATE_COLUMN for t in GOLD_TABLES},
}
# Natural key of each gold table: exactly one row per key.
GOLD_KEYS = {
    CUSTOMER_ANALYTICS: ("date", "customer_id"),
    SALES_SUMMARY: ("date", "category"),
    PRODUCT_PERFORMANCE: ("date", "product_id"),
}

# Rejection reasons, in precedence order: a row with several faults gets the first that matches.
NULL_KEY = "null_key"
UNKNOWN_PRODUCT = "unknown_product"
NON_POSITIVE_QUANTITY = "non_positive_quantity"
NEGATIVE_PRICE = "negative_price"
DUPLICATE = "duplicate"
PAGE_VIEW_REASONS = (NULL_KEY, UNKNOWN_PRODUCT, DUPLICATE)
PURCHASE_REASONS = (NULL_KEY, NON_POSITIVE_QUANTITY, NEGATIVE_PRICE, UNKNOWN_PRODUCT, DUPLICATE)
REASONS = {PAGE_VIEWS: PAGE_VIEW_REASONS, PURCHASES: PURCHASE_REASONS}

SEGMENTS = ("high_value", "buyer", "engaged_browser", "browser")


def conform(df, table: str):
    """Select and cast a DataFrame to the contract schema of `table`, in contract column order."""
    return df.select(*[df[f.name].cast(f.dataType).alias(f.name) for f in SCHEMAS[table]])


def qualified(table: str, catalog: str = CATALOG) -> str:
    """`silver.page_views` -> `lakehouse.silver.page_views`."""
    return f"{catalog}.{table}"


def short_name(table: str) -> str:
    """`silver.page_views` -> `page_views`."""
    return table.rsplit(".", 1)[-1]
