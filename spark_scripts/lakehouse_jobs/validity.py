"""Row validity for silver facts: split into valid rows and rejection counts by reason.

Pure DataFrame functions (no actions). Precedence: a row gets the FIRST matching reason in the
contract's order; duplicates are judged only among rows that passed every other rule, within one
event_date, and the kept row is the smallest by (event_time, remaining columns), nulls first.
"""

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from . import contract as c

REASON = "reject_reason"


def product_dimension(products: DataFrame) -> DataFrame:
    """One row per product_id: (product_id, category).

    silver.products is a full snapshot and should be unique; if it is not, the row with the latest
    updated_at wins (then smallest category, product_name, price) so gold never fans out on a join.
    Null categories become 'uncategorized' so gold keys are never null.
    """
    w = Window.partitionBy("product_id").orderBy(
        F.col("updated_at").desc_nulls_last(),
        F.col("category").asc_nulls_first(),
        F.col("product_name").asc_nulls_first(),
        F.col("price").asc_nulls_first(),
    )
    return (
        products.where(F.col("product_id").isNotNull())
        .withColumn("_rn", F.row_number().over(w))
        .where("_rn = 1")
        .select("product_id", F.coalesce("category", F.lit(c.UNCATEGORIZED)).alias("category"))
    )


def _with_known_product(df: DataFrame, products: DataFrame, dimension: DataFrame | None) -> DataFrame:
    # Left join keeps every fact row; `category` is null exactly when the product is unknown.
    dim = F.broadcast(product_dimension(products) if dimension is None else dimension)
    return df.join(dim, on="product_id", how="left").select(*df.columns, "category")


def _mark_duplicates(df: DataFrame, key: list[str], order: list[str]) -> DataFrame:
    """Reject all but the first row per key+event_date among rows not rejected yet."""
    w = Window.partitionBy(F.col(REASON).isNull(), "event_date", *key).orderBy(
        *[F.col(col).asc_nulls_first() for col in order]
    )
    rn = F.row_number().over(w)
    return df.withColumn(
        REASON,
        F.when(F.col(REASON).isNull() & (rn > 1), F.lit(c.DUPLICATE)).otherwise(F.col(REASON)),
    )


def classify_page_views(pv: DataFrame, products: DataFrame, dimension: DataFrame | None = None) -> DataFrame:
    """All page views plus `category` and `reject_reason` (null = valid).

    `dimension`: `product_dimension(products)` when the caller already has it (computed once for
    both fact tables); None computes it here.
    """
    df = _with_known_product(pv, products, dimension)
    reason = (
        F.when(F.col("event_id").isNull() | F.col("customer_id").isNull(), F.lit(c.NULL_KEY))
        .when(
            (F.col("page_type") == "product") & F.col("category").isNull(),
            F.lit(c.UNKNOWN_PRODUCT),
        )
    )
    df = df.withColumn(REASON, reason)
    order = ["event_time", "session_id", "customer_id", "product_id", "page_type"]
    return _mark_duplicates(df, ["event_id"], order)


def classify_purchases(pu: DataFrame, products: DataFrame, dimension: DataFrame | None = None) -> DataFrame:
    """All purchase lines plus `category` and `reject_reason` (null = valid); `dimension` as in
    `classify_page_views`.

    A null quantity counts as non_positive_quantity and a null unit_price as negative_price:
    neither can produce a revenue, and the contract has no separate reason for them.
    """
    df = _with_known_product(pu, products, dimension)
    reason = (
        F.when(
            F.col("order_id").isNull() | F.col("customer_id").isNull() | F.col("product_id").isNull(),
            F.lit(c.NULL_KEY),
        )
        .when(F.coalesce(F.col("quantity") <= 0, F.lit(True)), F.lit(c.NON_POSITIVE_QUANTITY))
        .when(F.coalesce(F.col("unit_price") < 0, F.lit(True)), F.lit(c.NEGATIVE_PRICE))
        .when(F.col("category").isNull(), F.lit(c.UNKNOWN_PRODUCT))
    )
    df = df.withColumn(REASON, reason)
    order = ["event_time", "customer_id", "quantity", "unit_price"]
    return _mark_duplicates(df, ["order_id", "product_id"], order)


def split(classified: DataFrame) -> tuple[DataFrame, DataFrame]:
    """classify_* output -> (valid rows without reject_reason, counts: event_date, reason, rows)."""
    valid = classified.where(F.col(REASON).isNull()).drop(REASON)
    rejected = (
        classified.where(F.col(REASON).isNotNull())
        .groupBy("event_date", F.col(REASON).alias("reason"))
        .agg(F.count(F.lit(1)).alias("rows"))
    )
    return valid, rejected


def clean_page_views(pv: DataFrame, products: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(valid page views + category, rejected counts: event_date, reason, rows)."""
    return split(classify_page_views(pv, products))


def clean_purchases(pu: DataFrame, products: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(valid purchase lines + category, rejected counts: event_date, reason, rows)."""
    return split(classify_purchases(pu, products))


def counts_by_reason(rejected: DataFrame, table: str) -> dict[str, int]:
    """Collect rejected counts into {reason: rows} with a 0 for every reason of `table`."""
    counts = dict.fromkeys(c.REASONS[table], 0)
    for row in rejected.groupBy("reason").agg(F.sum("rows").alias("rows")).collect():
        counts[row["reason"]] = int(row["rows"])
    return counts
