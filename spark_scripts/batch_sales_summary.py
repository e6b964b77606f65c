"""Build gold.daily_sales_summary for one UTC date or an inclusive date range; Livy batch or spark-submit.

    batch_sales_summary.py (--date YYYY-MM-DD | --start YYYY-MM-DD --end YYYY-MM-DD) [--catalog NAME]

Under Dagster Pipes the partition key (range) stands in for the dates. See lakehouse_jobs.cli.
"""

from lakehouse_jobs.cli import main_gold
from lakehouse_jobs.contract import SALES_SUMMARY

if __name__ == "__main__":
    main_gold(SALES_SUMMARY)
