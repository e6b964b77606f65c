"""Reports metadata and a check through Dagster Pipes without starting Spark (a fast batch for
tests of the Pipes plumbing); prints a plain line after them."""
from dagster_pipes import PipesCliArgsParamsLoader, open_dagster_pipes

with open_dagster_pipes(params_loader=PipesCliArgsParamsLoader()) as pipes:
    rows = len([1, 2, 3])
    pipes.report_asset_materialization(metadata={"rows": rows, "extra": pipes.get_extra("tag")})
    pipes.report_asset_check(check_name="has_rows", passed=rows > 0, metadata={"rows": rows})
    print("plain driver line after", flush=True)
