"""The parity test's script side: the gold batch scripts' entry point, `main_gold(table)`, for
the three tables in one Spark driver (each script is exactly `main_gold(<its table>)`), so the
test pays one spark-submit instead of three.

    gold_scripts_in_one_driver.py YYYY-MM-DD
"""

import sys

from pyspark.sql import SparkSession

from lakehouse_jobs import contract as c
from lakehouse_jobs.cli import main_gold

if __name__ == "__main__":
    spark = SparkSession.builder.getOrCreate()
    try:
        for table in c.GOLD_TABLES:
            main_gold(table, ["--date", sys.argv[1]], spark=spark)
    finally:
        spark.stop()
