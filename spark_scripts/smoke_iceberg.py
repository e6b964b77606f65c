"""Smoke batch: write a tiny Iceberg table in the `lakehouse` catalog and print its row count.

Used by the stack test (tests/integration/test_stack.py: Livy + Spark + Iceberg end to end);
runs under Livy or plain spark-submit.
    smoke_iceberg.py [--table NAMESPACE.TABLE] [--rows N]
"""

import argparse

from pyspark.sql import SparkSession


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", default="smoke.numbers")
    parser.add_argument("--rows", type=int, default=10)
    args, _ = parser.parse_known_args()
    spark = SparkSession.builder.appName(f"smoke_iceberg {args.table}").getOrCreate()
    try:
        namespace = args.table.rsplit(".", 1)[0]
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS lakehouse.{namespace}")
        df = spark.range(args.rows).selectExpr("id", "id * id AS square")
        df.writeTo(f"lakehouse.{args.table}").using("iceberg").createOrReplace()
        count = spark.table(f"lakehouse.{args.table}").count()
        print(f"SMOKE_ROWS {args.table} {count}")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
