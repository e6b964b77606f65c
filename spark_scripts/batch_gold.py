"""Build several gold tables for one UTC date or an inclusive date range in ONE Spark driver, on one
silver read and validation; Livy batch or spark-submit.

    batch_gold.py (--date YYYY-MM-DD | --start YYYY-MM-DD --end YYYY-MM-DD) [--tables a,b] [--catalog NAME]

--tables: comma-separated gold tables (gold.daily_customer_analytics, gold.daily_sales_summary,
gold.product_performance_analytics; short names accepted), default all three. Under Dagster Pipes
the partition key (range) stands in for the dates. Used by the `gold/*` multi-asset. See lakehouse_jobs.cli.
"""

from lakehouse_jobs.cli import main_gold_tables

if __name__ == "__main__":
    main_gold_tables()
