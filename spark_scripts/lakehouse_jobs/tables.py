"""The data contract's names and shapes as plain Python: no pyspark import.

The Dagster code location, notebooks' helpers and docs read this; `contract.py` builds the Spark
schemas from it. docs/data-contract.md describes the same contract in prose.
"""

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

PRICE_TYPE = "decimal(10,2)"  # silver prices
MONEY_TYPE = "decimal(18,2)"  # gold sums and averages

# Category given to products whose silver.products category is null, so gold keys are never null.
UNCATEGORIZED = "uncategorized"
HIGH_VALUE_REVENUE = "500.00"  # customer_segment 'high_value' threshold (inclusive)
ENGAGED_PAGE_VIEWS = 10  # customer_segment 'engaged_browser' threshold (inclusive)
SEGMENTS = ("high_value", "buyer", "engaged_browser", "browser")

# Columns of every table, in order, as (name, Spark SQL type).
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    PRODUCTS: (("product_id", "string"), ("product_name", "string"), ("category", "string"),
               ("price", PRICE_TYPE), ("updated_at", "timestamp")),
    PAGE_VIEWS: (("event_id", "string"), ("session_id", "string"), ("customer_id", "string"),
                 ("product_id", "string"), ("page_type", "string"), ("event_time", "timestamp"),
                 ("event_date", "date")),
    PURCHASES: (("order_id", "string"), ("customer_id", "string"), ("product_id", "string"),
                ("quantity", "int"), ("unit_price", PRICE_TYPE), ("event_time", "timestamp"),
                ("event_date", "date")),
    CUSTOMER_ANALYTICS: (("date", "date"), ("customer_id", "string"), ("page_views", "bigint"),
                         ("sessions", "bigint"), ("products_viewed", "bigint"), ("orders", "bigint"),
                         ("items", "bigint"), ("revenue", MONEY_TYPE), ("avg_order_value", MONEY_TYPE),
                         ("customer_segment", "string")),
    SALES_SUMMARY: (("date", "date"), ("category", "string"), ("orders", "bigint"), ("items", "bigint"),
                    ("revenue", MONEY_TYPE), ("customers", "bigint"), ("avg_order_value", MONEY_TYPE),
                    ("revenue_change_pct", "double")),
    PRODUCT_PERFORMANCE: (("date", "date"), ("product_id", "string"), ("category", "string"),
                          ("views", "bigint"), ("unique_viewers", "bigint"), ("orders", "bigint"),
                          ("units", "bigint"), ("revenue", MONEY_TYPE), ("conversion_rate", "double"),
                          ("revenue_rank", "int")),
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

# Data-quality checks per gold table, in the order they run: name -> (severity, passes when).
CHECKS: dict[str, dict[str, tuple[str, str]]] = {
    CUSTOMER_ANALYTICS: {
        "completeness": ("ERROR", "every (date, customer) active in valid silver appears exactly once, "
                                  "nothing else appears, and no key is null"),
        "revenue_matches_silver": ("ERROR", "per date, the sum of revenue equals the revenue of the valid "
                                            "silver purchase lines, to the cent"),
        "segment_logic": ("WARN", "every customer_segment means what it says: high_value iff revenue >= "
                                  "500.00; buyer iff below that with an order; engaged_browser iff no order "
                                  "and page_views >= 10; browser otherwise"),
    },
    SALES_SUMMARY: {
        "revenue_matches_silver": ("ERROR", "per date, the sum of revenue equals the revenue of the valid "
                                            "silver purchase lines, to the cent"),
        "orders_match_silver": ("ERROR", "per (date, category), orders equals the distinct valid silver orders"),
    },
    PRODUCT_PERFORMANCE: {
        "conversion_rate_in_range": ("ERROR", "conversion_rate lies in [0, 1], and is null exactly when "
                                              "unique_viewers = 0"),
        "views_ge_unique_viewers": ("WARN", "no product has more unique viewers than views"),
        "revenue_rank_dense": ("WARN", "revenue_rank = 1 + the number of distinct higher revenues on the "
                                       "same date"),
    },
}
CHECK_NAMES = {table: tuple(checks) for table, checks in CHECKS.items()}

# The Pipes custom message in which a gold run reports each table's per-date figures (one per
# table; reporting.partitions_message): the Dagster asset turns it into per-partition metadata.
GOLD_PARTITIONS_MESSAGE = "lakehouse.gold_partitions"


def qualified(table: str, catalog: str = CATALOG) -> str:
    """`silver.page_views` -> `lakehouse.silver.page_views`."""
    return f"{catalog}.{table}"


def short_name(table: str) -> str:
    """`silver.page_views` -> `page_views`."""
    return table.rsplit(".", 1)[-1]
