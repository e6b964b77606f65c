"""Class-loading warm-up for the Spark driver's class data sharing archive (`livyctl.py cds`).

    spark-submit cds_warmup.py [--date YYYY-MM-DD] [--page-views N]   (lakehouse_jobs importable)

One small run of the real work in one session: a silver date generated, then the three gold
tables built from it (validation, Iceberg writes, checks). `livyctl.py cds` runs it once, against
a throwaway catalog, in a driver JVM started with -XX:ArchiveClassesAtExit, so the archive holds
the classes a gold batch's driver loads (Spark SQL, the Iceberg JDBC catalog, Parquet, ...).
"""

import argparse

from pyspark.sql import SparkSession

from lakehouse_jobs.cli import main_generate, main_gold_tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", default="2025-01-01")
    parser.add_argument("--page-views", type=int, default=2000)
    args = parser.parse_args()
    spark = SparkSession.builder.getOrCreate()
    try:
        main_generate(["--date", args.date, "--page-views-per-day", str(args.page_views),
                       "--dirty-share", "0.02"], spark)
        results = main_gold_tables(["--date", args.date], spark)
        print(f"CDS_WARMUP tables={len(results)} rows={sum(r.rows for r in results)}", flush=True)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
