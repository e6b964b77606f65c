"""What a gold or silver run tells Dagster (through Pipes) and its log: plain JSON values.

Per table of a run:
- `partition_figures`: one entry per date of the run, that date's own figures (rows, revenue,
  rejected rows by reason) - sent as a Pipes custom message, from which the Dagster asset logs one
  materialization per daily partition (Pipes' report_asset_materialization has no partition);
- the data-quality checks (`report_asset_check`), evaluated once over the run's dates;
- a materialization whose figures are labelled as totals over the run's dates, for Pipes users of
  the single-table scripts with a plain asset.
"""

from pyspark.sql import SparkSession

from . import contract as c
from .pipeline import JobResult

CUSTOM_MESSAGE_KIND = c.GOLD_PARTITIONS_MESSAGE


def span(result: JobResult) -> str:
    """`2026-10-30` or `2026-10-29..2026-10-31`."""
    return str(result.start) if result.start == result.end else f"{result.start}..{result.end}"


def _rejected_flat(rejected: dict[str, dict[str, int]]) -> dict[str, int]:
    return {f"rejected.{c.short_name(t)}.{reason}": n for t, counts in rejected.items() for reason, n in counts.items()}


def materialization_metadata(result: JobResult) -> dict:
    """The range-level materialization: totals over the run's dates, labelled as such (`scope`)."""
    meta = {
        "table": result.table,
        "dates": result.dates,
        "scope": f"totals over {span(result)} ({len(result.dates)} date{'s' if len(result.dates) > 1 else ''})",
        "rows": result.rows,
        "revenue": float(result.revenue),
        "snapshot_id": str(result.snapshot_id) if result.snapshot_id is not None else "",
        "duration_s": result.duration_s,
        "rejected_rows": sum(sum(r.values()) for r in result.rejected.values()),
    }
    meta.update(_rejected_flat(result.rejected))
    return meta


def partition_figures(result: JobResult) -> dict[str, dict]:
    """{date: that date's figures}: rows, revenue (exact decimal string), rejected by reason."""
    out = {}
    for date in result.dates:
        figures = result.by_date.get(date, {"rows": 0, "revenue": 0})
        rejected = {t: per_date.get(date, dict.fromkeys(c.REASONS[t], 0))
                    for t, per_date in result.rejected_by_date.items()}
        out[date] = {"rows": int(figures["rows"]), "revenue": str(figures["revenue"]),
                     "rejected_rows": sum(sum(r.values()) for r in rejected.values()), **_rejected_flat(rejected)}
    return out


def partitions_message(result: JobResult, asset_key: str | None) -> dict:
    """The Pipes custom message carrying one table's per-date figures."""
    return {
        "kind": CUSTOM_MESSAGE_KIND, "table": result.table, "asset_key": asset_key,
        "start": str(result.start), "end": str(result.end),
        "snapshot_id": str(result.snapshot_id) if result.snapshot_id is not None else "",
        "duration_s": result.duration_s,
        "checks": [{"check_name": r["check_name"], "passed": r["passed"], "severity": r["severity"]}
                   for r in result.checks],
        "partitions": partition_figures(result),
    }


def spark_app_metadata(spark: SparkSession) -> dict:
    """Where the job ran: the application id and master, from the driver itself. Livy reports an
    appId only on YARN/Kubernetes; on a standalone cluster this is the link to the master's and
    workers' records of the application (its executors)."""
    sc = spark.sparkContext
    meta = {"spark_application_id": sc.applicationId, "spark_master": sc.master}
    if sc.uiWebUrl:
        meta["spark_driver_ui"] = sc.uiWebUrl
    return meta


def summary_line(result: JobResult) -> str:
    passed = sum(1 for r in result.checks if r["passed"])
    failed = [r["check_name"] for r in result.checks if not r["passed"]]
    return (
        f"GOLD {result.table} dates={result.start}..{result.end} rows={result.rows} "
        f"revenue={result.revenue} rejected={materialization_metadata(result)['rejected_rows']} "
        f"snapshot_id={result.snapshot_id} checks={passed}/{len(result.checks)} passed"
        + (f" failed={','.join(failed)}" if failed else "")
        + f" duration_s={result.duration_s:.1f}"
    )


def asset_key(pipes, table: str) -> str | None:
    """The Pipes asset key for `table` when several assets are in scope (None = the only one)."""
    from dagster_pipes import PipesContext

    if not isinstance(pipes, PipesContext):
        return None
    keys = list(pipes.asset_keys or [])
    if len(keys) <= 1:
        return keys[0] if keys else None
    matches = [k for k in keys if k.rsplit("/", 1)[-1] in (c.short_name(table), table.replace(".", "_"))]
    return matches[0] if len(matches) == 1 else None


def report_gold(pipes, result: JobResult, app: dict) -> None:
    """Everything Dagster hears about one gold table of a run, then the GOLD summary line."""
    key = asset_key(pipes, result.table)
    pipes.report_custom_message(partitions_message(result, key) | {"app": app})
    pipes.report_asset_materialization(metadata={**materialization_metadata(result), **app}, asset_key=key)
    for check in result.checks:
        pipes.report_asset_check(
            check_name=check["check_name"], passed=check["passed"], severity=check["severity"],
            metadata={**check["metadata"], "dates_checked": span(result)}, asset_key=key,
        )
    print(summary_line(result), flush=True)


def report_silver(pipes, snapshots: dict, counts: dict, common: dict) -> None:
    """One materialization per silver asset in scope, or one for all when a single asset is."""
    from dagster_pipes import PipesContext

    if not isinstance(pipes, PipesContext):
        return
    if len(pipes.asset_keys or []) <= 1:
        per_table = {f"{c.short_name(t)}.rows": n for t, n in counts.items()}
        per_table |= {f"{c.short_name(t)}.snapshot_id": str(s) for t, s in snapshots.items()}
        pipes.report_asset_materialization(metadata=per_table | common)
        return
    for table in c.SILVER_TABLES:
        key = asset_key(pipes, table)
        if key is not None:
            meta = {"table": table, "rows": counts[table], "snapshot_id": str(snapshots[table])}
            pipes.report_asset_materialization(metadata=meta | common, asset_key=key)
