"""Several gold tables in one Spark driver on ONE silver read and validation.

    results = run_gold_tables(spark, [CUSTOMER_ANALYTICS, SALES_SUMMARY], start, end)

Built on `pipeline` (load_inputs -> build -> write_and_check): the silver page views and purchases
of [start, end] are read and validated once (for the first table that needs page views), and each
selected table gets a view of those inputs restricted to the silver it reads, so its rows, checks
and rejection counts are exactly what `run_gold_job` for that table alone would report.
"""

import dataclasses
import datetime as dt
from typing import Iterator

from pyspark.sql import SparkSession

from . import contract as c
from . import pipeline
from .pipeline import GoldInputs, JobResult

# Silver fact tables each gold table reads (its rejection counts cover exactly these).
READS = {
    c.CUSTOMER_ANALYTICS: (c.PAGE_VIEWS, c.PURCHASES),
    c.SALES_SUMMARY: (c.PURCHASES,),
    c.PRODUCT_PERFORMANCE: (c.PAGE_VIEWS, c.PURCHASES),
}


def order(tables) -> list[str]:
    """Distinct gold tables in the contract's order; ValueError names an unknown one."""
    unknown = [t for t in tables if t not in c.GOLD_TABLES]
    if unknown:
        raise ValueError(f"unknown gold table(s) {', '.join(unknown)}; expected some of {', '.join(c.GOLD_TABLES)}")
    return [t for t in c.GOLD_TABLES if t in set(tables)]


def shared_inputs(spark: SparkSession, tables: list[str], start: dt.date, end: dt.date,
                  catalog: str = c.CATALOG) -> dict[str, GoldInputs]:
    """One `load_inputs` for all of `tables`, restricted per table to the silver that table reads."""
    tables = order(tables)
    primary = next((t for t in tables if c.PAGE_VIEWS in READS[t]), tables[0])
    base = pipeline.load_inputs(spark, primary, start, end, catalog, keep_for=tables)
    out = {}
    for table in tables:
        reads = READS[table]
        inputs = dataclasses.replace(
            base, table=table,
            valid={t: df for t, df in base.valid.items() if t in reads},
            rejected={t: n for t, n in base.rejected.items() if t in reads},
            rejected_by_date={t: n for t, n in base.rejected_by_date.items() if t in reads},
        )
        if table == c.SALES_SUMMARY and inputs.prev_purchases is None:
            inputs.prev_purchases = pipeline.previous_day_purchases(spark, start, catalog)
        out[table] = inputs
    return out


def iter_gold_tables(spark: SparkSession, tables: list[str], start: dt.date, end: dt.date,
                     catalog: str = c.CATALOG) -> Iterator[JobResult]:
    """Build, write and check each table in turn; yields each result as soon as it is checked (so
    the caller can report a table before the next one starts)."""
    for table, inputs in shared_inputs(spark, tables, start, end, catalog).items():
        yield pipeline.write_and_check(spark, inputs, pipeline.build(inputs))


def run_gold_tables(spark: SparkSession, tables: list[str], start: dt.date, end: dt.date,
                    catalog: str = c.CATALOG) -> list[JobResult]:
    return list(iter_gold_tables(spark, tables, start, end, catalog))
