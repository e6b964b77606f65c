"""The plain-Spark floor of gold.daily_customer_analytics (spark-submit this file; no Livy, no Dagster).

    spark-submit bench/floor.py --date YYYY-MM-DD --out DIR [--catalog lakehouse]

Reads the date's silver page views and purchases from the Iceberg catalog, computes the customer
group-bys (page views, distinct sessions, distinct products viewed; distinct orders, items,
revenue), full-joins them and writes parquet to DIR. No validation, no checks, no Iceberg commit:
the least any correct implementation has to do, so every gold figure is reported as a ratio to it.
Prints `FLOOR date=D rows=N duration_s=S app=ID` (S from the session being up to the parquet written).

Imports only pyspark: it runs with the same spark-defaults (SPARK_CONF_DIR) as the Livy batches.
"""

import argparse
import datetime as dt
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def floor(spark: SparkSession, date: dt.date, out: str, catalog: str = "lakehouse") -> int:
    """Build the floor's rows for `date` and write them to `out` (parquet); returns the row count
    (from the write's own metrics: no second pass)."""
    day = F.lit(date)
    pv = spark.table(f"{catalog}.silver.page_views").where(F.col("event_date") == day)
    pu = spark.table(f"{catalog}.silver.purchases").where(F.col("event_date") == day)
    views = pv.groupBy(F.col("event_date").alias("date"), "customer_id").agg(
        F.count(F.lit(1)).alias("page_views"),
        F.countDistinct("session_id").alias("sessions"),
        F.countDistinct(F.when(F.col("page_type") == "product", F.col("product_id"))).alias("products_viewed"),
    )
    buys = pu.groupBy(F.col("event_date").alias("date"), "customer_id").agg(
        F.countDistinct("order_id").alias("orders"),
        F.sum("quantity").alias("items"),
        F.sum(F.col("quantity").cast("decimal(10,0)") * F.col("unit_price")).alias("revenue"),
    )
    views.join(buys, ["date", "customer_id"], "full").write.mode("overwrite").parquet(out)
    return spark.read.parquet(out).count()  # parquet footers only


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--date", required=True, type=dt.date.fromisoformat)
    p.add_argument("--out", required=True, help="parquet output directory (overwritten)")
    p.add_argument("--catalog", default="lakehouse")
    args = p.parse_args(argv)
    spark = SparkSession.builder.getOrCreate()
    try:
        began = time.monotonic()
        rows = floor(spark, args.date, args.out, args.catalog)
        print(f"FLOOR date={args.date} rows={rows} duration_s={time.monotonic() - began:.3f} "
              f"app={spark.sparkContext.applicationId}", flush=True)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
