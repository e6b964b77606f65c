"""Silver generator against the least a write of as many rows costs (spark-submit this file).

    spark-submit --py-files <lakehouse_jobs zip> bench/genbench.py --date D --page-views N [--pairs 2]

Writes N page-view rows for date D twice per pair, into scratch Iceberg tables of the silver page
views' schema and partitioning (`<catalog>.bench.*`, never silver itself), in alternating order:
  range  every column a cheap function of spark.range's id (strings by concat, one timestamp)
  gen    lakehouse_jobs.silver.page_views_df: the generator's own rows (hashes, skew, dirty rows)
Both go through the same Iceberg overwrite of the date, after one unmeasured warm-up write of
each (100k rows). Prints one `GENBENCH kind=... s=...` line
per write (seconds from the DataFrame built to the commit done) and the medians.
"""

import argparse
import datetime as dt
import statistics
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def range_rows(spark: SparkSession, day: dt.date, n: int):
    """N rows of the page views' schema from spark.range: no hashing, no skew, no faults."""
    idx = F.col("id")
    types = F.array(*map(F.lit, ("product", "search", "home", "cart", "checkout")))
    return spark.range(n).select(
        F.concat(F.lit("E"), idx.cast("string")).alias("event_id"),
        F.concat(F.lit("S"), (idx % max(1, n // 6)).cast("string")).alias("session_id"),
        F.concat(F.lit("C"), (idx % max(10, n // 10)).cast("string")).alias("customer_id"),
        F.concat(F.lit("P"), (idx % max(20, n // 200)).cast("string")).alias("product_id"),
        F.element_at(types, (idx % 5 + 1).cast("int")).alias("page_type"),
        F.timestamp_seconds(F.lit(int(dt.datetime(day.year, day.month, day.day).timestamp())) + idx % 86_400)
        .alias("event_time"),
        F.lit(day).alias("event_date"),
    )


def write(spark: SparkSession, df, name: str, day: dt.date) -> float:
    from lakehouse_jobs import contract as c

    began = time.monotonic()
    c.conform(df, c.PAGE_VIEWS).writeTo(name).overwrite(F.col("event_date") == F.lit(day))
    return time.monotonic() - began


def main(argv=None) -> None:
    from lakehouse_jobs import contract as c
    from lakehouse_jobs import silver

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--date", required=True, type=dt.date.fromisoformat)
    p.add_argument("--page-views", type=int, required=True)
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--dirty-share", type=float, default=0.02)
    p.add_argument("--catalog", default=c.CATALOG)
    args = p.parse_args(argv)
    spark = SparkSession.builder.getOrCreate()
    try:
        columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in c.PAGE_VIEWS_SCHEMA)
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {args.catalog}.bench")
        names = {}
        for kind in ("range", "gen"):
            names[kind] = f"{args.catalog}.bench.{kind}_page_views"
            spark.sql(f"CREATE TABLE IF NOT EXISTS {names[kind]} ({columns}) USING iceberg PARTITIONED BY (event_date)")
        scale = silver.Scale.for_page_views(args.page_views)
        build = {
            "range": lambda: range_rows(spark, args.date, args.page_views),
            "gen": lambda: silver.page_views_df(spark, args.date, args.date, scale, args.seed, args.dirty_share),
        }
        # Unmeasured warm-up of both (JIT, the catalog's first connections, codegen): the first write
        # of a fresh driver otherwise pays them, whichever kind it is.
        warm = silver.Scale.for_page_views(min(args.page_views, 100_000))
        write(spark, range_rows(spark, args.date, warm.page_views), names["range"], args.date)
        write(spark, silver.page_views_df(spark, args.date, args.date, warm, args.seed, args.dirty_share),
              names["gen"], args.date)
        times = {"range": [], "gen": []}
        for i in range(args.pairs):
            for kind in (("range", "gen") if i % 2 == 0 else ("gen", "range")):
                s = write(spark, build[kind](), names[kind], args.date)
                times[kind].append(s)
                print(f"GENBENCH pair={i + 1} kind={kind} rows={args.page_views} s={s:.3f}", flush=True)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"GENBENCH median range_s={med['range']:.3f} gen_s={med['gen']:.3f} "
              f"ratio={med['gen'] / med['range']:.3f}", flush=True)
        for name in names.values():
            spark.sql(f"DROP TABLE IF EXISTS {name} PURGE")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
