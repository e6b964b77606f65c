"""The lakehouse's notebook assets (papermill on the pyspark-livy kernel, see dagster_livy.notebooks).

- ``reports/daily_business_report``: exists only as a notebook; downstream of the three gold tables;
  its own job and a daily schedule (stopped by default).
- ``notebook_prototypes/<gold table>``: the analysts' prototypes as alternatives to the script-built
  gold assets. They write the same Iceberg partitions through the same lakehouse_jobs functions,
  under their own keys and group, in no job or schedule: materialize one by hand to run the
  notebook version of a table (e.g. while changing it).
"""

from __future__ import annotations

import os

import dagster as dg

from dagster_livy.env import seconds
from dagster_livy.lakehouse.assets import DAILY, PREVIOUS_DAY_TOO, table_key
from dagster_livy.lakehouse.pools import LIVY_POOL
from dagster_livy.lakehouse.jobs import daily_schedule
from dagster_livy.lakehouse.settings import NOTEBOOKS_DIR
from dagster_livy.notebooks import notebook_asset
from lakehouse_jobs import tables as c  # not contract: the code location never imports pyspark

REPORT_KEY = dg.AssetKey(["reports", "daily_business_report"])
PROTOTYPE_GROUP = "notebook_prototypes"


def cell_timeout_s() -> float | None:
    """NOTEBOOK_CELL_TIMEOUT_S (seconds; 0 = none), default 1800; read at run time."""
    return seconds("NOTEBOOK_CELL_TIMEOUT_S", os.environ.get("NOTEBOOK_CELL_TIMEOUT_S", "1800")) or None


def _parameters(date: str) -> dict:
    return {"catalog": c.CATALOG}


daily_business_report = notebook_asset(
    NOTEBOOKS_DIR / "daily_business_report.ipynb",
    key=REPORT_KEY, partitions_def=DAILY, parameters=_parameters, cell_timeout_s=cell_timeout_s,
    html_exclude_input=True, group_name="reports", pool=LIVY_POOL, kinds={"jupyter", "spark", "livy"},
    deps=[dg.AssetDep(table_key(t)) for t in c.GOLD_TABLES],
    description="Daily business report (KPIs, revenue by category, segment mix, top products, "
                "day-over-day changes, charts): notebooks/daily_business_report.ipynb run with "
                "papermill on the pyspark-livy kernel; the executed notebook and its HTML are kept.",
)

_SILVER_DEPS = {
    c.CUSTOMER_ANALYTICS: [c.PAGE_VIEWS, c.PURCHASES, c.PRODUCTS],
    c.SALES_SUMMARY: [c.PURCHASES, c.PRODUCTS],
    c.PRODUCT_PERFORMANCE: [c.PAGE_VIEWS, c.PURCHASES, c.PRODUCTS],
}


def prototype_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([PROTOTYPE_GROUP, c.short_name(table)])


def _prototype(table: str) -> dg.AssetsDefinition:
    deps = [dg.AssetDep(table_key(t), partition_mapping=PREVIOUS_DAY_TOO
                        if (table, t) == (c.SALES_SUMMARY, c.PURCHASES) else None)
            for t in _SILVER_DEPS[table]]
    return notebook_asset(
        NOTEBOOKS_DIR / f"{c.short_name(table)}.ipynb",
        key=prototype_key(table), partitions_def=DAILY,
        parameters=lambda date: {**_parameters(date), "write": True}, cell_timeout_s=cell_timeout_s,
        group_name=PROTOTYPE_GROUP, pool=LIVY_POOL, kinds={"jupyter", "spark", "livy"}, deps=deps,
        metadata={"table": f"{c.CATALOG}.{table}", "alternative_to": table_key(table).to_user_string()},
        description=f"{table} built by its prototyping notebook (notebooks/{c.short_name(table)}.ipynb): "
                    f"an alternative to the script-built {table_key(table).to_user_string()}, writing the "
                    "same Iceberg partition with the same functions. In no job or schedule.",
    )


PROTOTYPES = [_prototype(t) for t in c.GOLD_TABLES]
NOTEBOOK_ASSETS = [daily_business_report, *PROTOTYPES]

daily_business_report_job = dg.define_asset_job(
    "daily_business_report_job", selection=dg.AssetSelection.assets(daily_business_report),
    description="The daily business report notebook for one day.")
# 07:00 UTC: after the gold freshness deadline (06:00) for the previous day.
daily_business_report_schedule = daily_schedule(
    daily_business_report_job, "daily_business_report_schedule", 7, dg.DefaultScheduleStatus.STOPPED)

NOTEBOOK_JOBS = [daily_business_report_job]
NOTEBOOK_SCHEDULES = [daily_business_report_schedule]
