"""Script command lines: argument errors, Dagster Pipes reporting, plain spark-submit."""

import datetime as dt
import os
from decimal import Decimal
import subprocess
import sys

import pytest

from . import oracle
from tests.conftest import run_livyctl

from .conftest import REPO, SPARK_SCRIPTS, pyiceberg_catalog


def parse(argv):
    from lakehouse_jobs import cli

    return cli.parse_args(cli.build_parser("test"), argv)


@pytest.mark.parametrize("argv, fragment", [
    (["--date", "2024-13-01"], "argument --date: invalid date '2024-13-01' for --date (expected YYYY-MM-DD)"),
    (["--date", "20240101"], "invalid date '20240101'"),
    (["--start", "2024-01-02", "--end", "yesterday"], "argument --end: invalid date 'yesterday'"),
    (["--start", "2024-01-02"], "--start and --end must be given together"),
    (["--start", "2024-01-03", "--end", "2024-01-02"], "--start 2024-01-03 is after --end 2024-01-02"),
    (["--date", "2024-01-01", "--start", "2024-01-01", "--end", "2024-01-02"], "either --date or --start/--end"),
])
def test_bad_arguments_exit_with_a_clear_message(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse(argv)
    assert exit_info.value.code == 2
    assert fragment in capsys.readouterr().err


def test_dates_and_pipes_arguments_are_accepted():
    args = parse(["--date", "2024-01-02", "--dagster-pipes-context", "abc", "--dagster-pipes-messages", "def"])
    assert (args.start, args.end) == (dt.date(2024, 1, 2), dt.date(2024, 1, 2))
    args = parse(["--start", "2024-01-01", "--end", "2024-01-03"])
    assert (args.start, args.end, args.catalog) == (dt.date(2024, 1, 1), dt.date(2024, 1, 3), "lakehouse")


def test_tables_argument_names_the_bad_table(capsys):
    from lakehouse_jobs import args as a

    parser = a.add_tables_argument(a.build_parser("test"))
    chosen = a.parse_args(parser, ["--date", "2024-01-02", "--tables", "product_performance_analytics,gold.daily_sales_summary"])
    assert chosen.tables == ["gold.daily_sales_summary", "gold.product_performance_analytics"]  # contract order
    assert a.parse_args(parser, ["--date", "2024-01-02"]).tables == list(a.c.GOLD_TABLES)
    with pytest.raises(SystemExit):
        a.parse_args(parser, ["--date", "2024-01-02", "--tables", "gold.daily_sales_summary,gold.nope"])
    assert "unknown gold table(s) 'gold.nope' for --tables" in capsys.readouterr().err


def test_no_date_and_no_pipes_partition_is_an_error():
    from lakehouse_jobs import cli

    with pytest.raises(SystemExit, match="no date given"):
        cli.resolve_dates(parse([]), pipes=object())


def test_pipes_partition_range_drives_the_dates_and_everything_is_reported(spark, silver, pipes):
    from lakehouse_jobs import checks
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.cli import main_gold

    result, messages = pipes(lambda: main_gold(c.PRODUCT_PERFORMANCE, [], spark=spark),
                             asset_keys=["gold/product_performance_analytics"],
                             partition_range=("2024-01-02", "2024-01-03"))
    assert (result.start, result.end) == (dt.date(2024, 1, 2), dt.date(2024, 1, 3))
    methods = [m["method"] for m in messages]
    assert methods[0] == "opened" and methods[-1] == "closed"
    [materialization] = [m["params"] for m in messages if m["method"] == "report_asset_materialization"]
    meta = {k: v["raw_value"] for k, v in materialization["metadata"].items()}
    assert meta["dates"] == ["2024-01-02", "2024-01-03"]
    assert meta["table"] == c.PRODUCT_PERFORMANCE and meta["rows"] == result.rows > 0
    assert meta["revenue"] == float(result.revenue) and "revenue_exact" not in meta
    assert meta["scope"] == "totals over 2024-01-02..2024-01-03 (2 dates)"
    # Each date's own figures travel in one custom message: equal to what the committed snapshot
    # holds for that date, counted here separately.
    [custom] = [m["params"]["payload"] for m in messages if m["method"] == "report_custom_message"]
    assert custom["kind"] == c.GOLD_PARTITIONS_MESSAGE and custom["table"] == c.PRODUCT_PERFORMANCE
    days = custom["partitions"]
    committed = {r["date"].isoformat(): (r["n"], r["revenue"]) for r in spark.sql(
        f"SELECT date, count(*) AS n, sum(revenue) AS revenue FROM {c.qualified(c.PRODUCT_PERFORMANCE)} "
        f"VERSION AS OF {result.snapshot_id} WHERE date BETWEEN '2024-01-02' AND '2024-01-03' GROUP BY date").collect()}
    assert list(days) == ["2024-01-02", "2024-01-03"] and all(d["rows"] > 0 for d in days.values())
    assert {d: (f["rows"], Decimal(f["revenue"])) for d, f in days.items()} == committed
    # (Per-date rejections are checked against the independent oracle in tests/integration/test_pipeline.py.)
    assert meta["snapshot_id"] == str(result.snapshot_id)
    assert {k for k in meta if k.startswith("rejected.")} == (
        {f"rejected.page_views.{r}" for r in c.PAGE_VIEW_REASONS}
        | {f"rejected.purchases.{r}" for r in c.PURCHASE_REASONS})
    assert isinstance(meta["duration_s"], float)
    reported = [(m["params"]["check_name"], m["params"]["severity"], m["params"]["passed"])
                for m in messages if m["method"] == "report_asset_check"]
    assert [name for name, _, _ in reported] == list(checks.CHECK_NAMES[c.PRODUCT_PERFORMANCE])
    assert all(passed for _, _, passed in reported)
    assert {m["params"]["asset_key"] for m in messages if m["method"].startswith("report_asset")} == {
        "gold/product_performance_analytics"} == {custom["asset_key"]}


def _render_spark_conf(run_dir, lakehouse):
    """The production Spark conf, rendered by livyctl for a temp lakehouse; returns its dir."""
    run_livyctl({"LIVY_RUN_DIR": str(run_dir), "LAKEHOUSE_DIR": str(lakehouse)}, "conf")
    target = run_dir / "spark-conf"
    assert str(lakehouse) in (target / "spark-defaults.conf").read_text()
    return target


def test_spark_submit_without_pipes_arguments(silver, catalog, tmp_path):
    """A gold script under plain spark-submit: no Pipes args, a no-op context, exit 0, gold
    equal to the oracle. Silver is copied with pyiceberg into a lakehouse of its own, which no
    other JVM has open."""
    from lakehouse_jobs.cli import STANDALONE_NOTICE

    day = dt.date(2024, 1, 2)
    lakehouse = tmp_path / "lakehouse"
    lakehouse.mkdir()
    target = pyiceberg_catalog("lakehouse", lakehouse)
    target.create_namespace("silver")
    for name in (oracle.PRODUCTS, oracle.PAGE_VIEWS, oracle.PURCHASES):
        source = catalog.load_table(name)
        scan = source.scan() if name == oracle.PRODUCTS else source.scan(
            row_filter=f"event_date = '{day.isoformat()}'")
        copy = target.create_table(name, schema=source.schema(), partition_spec=source.spec())
        copy.append(scan.to_arrow())
    conf_dir = _render_spark_conf(tmp_path / "livy-run", lakehouse)

    env = {**os.environ, "SPARK_CONF_DIR": str(conf_dir), "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": sys.executable, "PYTHONUNBUFFERED": "1"}
    spark_submit = REPO / ".venv/lib/python3.11/site-packages/pyspark/bin/spark-submit"
    script = SPARK_SCRIPTS / "batch_customer_analytics.py"
    proc = subprocess.run([str(spark_submit), str(script), "--date", day.isoformat()],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The script says it runs without Dagster, in a line of its own, not as a Python warning.
    assert f"lakehouse_jobs: {STANDALONE_NOTICE}" in proc.stdout.splitlines(), proc.stdout[-3000:]
    assert "DagsterPipesWarning" not in proc.stdout + proc.stderr
    [summary] = [line for line in proc.stdout.splitlines() if line.startswith("GOLD ")]
    assert "gold.daily_customer_analytics dates=2024-01-02..2024-01-02" in summary
    assert "checks=3/3 passed" in summary
    assert oracle.compare_gold(target, day, tables=[oracle.CUSTOMER]) == {}


def test_generate_silver_under_pipes_reports_each_silver_asset(spark, scratch, pipes):
    from lakehouse_jobs.cli import main_generate

    name, _, pyi = scratch
    argv = ["--page-views-per-day", "400", "--seed", "9", "--dirty-share", "0.1", "--catalog", name]
    keys = ["silver/products", "silver/page_views", "silver/purchases"]
    snapshots, messages = pipes(lambda: main_generate(argv, spark=spark), asset_keys=keys,
                                partition_range=("2024-06-01", "2024-06-02"))
    reports = {m["params"]["asset_key"]: {k: v["raw_value"] for k, v in m["params"]["metadata"].items()}
               for m in messages if m["method"] == "report_asset_materialization"}
    assert set(reports) == set(keys)
    assert reports["silver/page_views"]["rows"] == 800
    assert reports["silver/page_views"]["dates"] == ["2024-06-01", "2024-06-02"]
    assert reports["silver/products"]["rows"] == len(oracle.read_silver(pyi, oracle.PRODUCTS))
    assert reports["silver/purchases"]["snapshot_id"] == str(snapshots["silver.purchases"])


def test_several_tables_in_one_driver_report_each_table_and_date_on_its_own(spark, silver, pipes):
    """batch_gold.py's entry point for a subset of the tables over a range, as the multi-asset runs it:
    one result per selected table, each reported under its own asset key with its own per-date
    figures, which equal the rows per date of the snapshot it committed."""
    from lakehouse_jobs import contract as c
    from lakehouse_jobs.cli import main_gold_tables

    keys = ["gold/daily_sales_summary", "gold/product_performance_analytics"]
    results, messages = pipes(lambda: main_gold_tables(["--tables", "daily_sales_summary,product_performance_analytics"],
                                                       spark=spark),
                              asset_keys=keys, partition_range=("2024-01-02", "2024-01-03"))
    assert [r.table for r in results] == [c.SALES_SUMMARY, c.PRODUCT_PERFORMANCE]
    customs = {m["params"]["payload"]["asset_key"]: m["params"]["payload"]
               for m in messages if m["method"] == "report_custom_message"}
    assert set(customs) == set(keys)
    for result in results:
        custom = customs["gold/" + c.short_name(result.table)]
        committed = {r["date"].isoformat(): r["n"] for r in spark.sql(
            f"SELECT date, count(*) AS n FROM {c.qualified(result.table)} VERSION AS OF {result.snapshot_id} "
            "WHERE date BETWEEN '2024-01-02' AND '2024-01-03' GROUP BY date").collect()}
        assert {d: f["rows"] for d, f in custom["partitions"].items()} == committed, result.table
        assert all(check["passed"] for check in custom["checks"]), custom["checks"]
    # The sales summary reads no page views: it reports only purchase rejections.
    sales = customs["gold/daily_sales_summary"]["partitions"]["2024-01-02"]
    assert not [k for k in sales if k.startswith("rejected.page_views.")]
    assert {m["params"]["asset_key"] for m in messages if m["method"] == "report_asset_check"} == set(keys)
