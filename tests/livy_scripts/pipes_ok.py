"""Reports metadata and a check through Dagster Pipes; prints plain lines around them."""
from dagster_pipes import PipesCliArgsParamsLoader, open_dagster_pipes
from pyspark.sql import SparkSession

with open_dagster_pipes(params_loader=PipesCliArgsParamsLoader()) as pipes:
    spark = SparkSession.builder.appName("pipes_ok").getOrCreate()
    try:
        rows = spark.range(3).count()
        print("plain driver line before")
        pipes.log.info(f"counted {rows} rows")
        pipes.report_asset_materialization(metadata={"rows": rows, "extra": pipes.get_extra("tag")})
        pipes.report_asset_check(check_name="has_rows", passed=rows > 0, metadata={"rows": rows})
        print("plain driver line after")
    finally:
        spark.stop()
