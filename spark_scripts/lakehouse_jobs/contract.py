"""The lakehouse data contract for Spark: the schemas, built from the plain names and column types
in `tables.py` (which the Dagster side imports without pyspark). One source of truth.

docs/data-contract.md describes the same contract in prose; keep the two in step.
"""

from pyspark.sql.types import (
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from .tables import *  # noqa: F401,F403 - the contract's names, re-exported for Spark code
from .tables import COLUMNS, MONEY_TYPE, PRICE_TYPE

# Money: silver prices are decimal(10,2); gold sums and averages are decimal(18,2).
PRICE = DecimalType(10, 2)
MONEY = DecimalType(18, 2)
_TYPES: dict[str, DataType] = {
    "string": StringType(), "date": DateType(), "timestamp": TimestampType(), "int": IntegerType(),
    "bigint": LongType(), "double": DoubleType(), PRICE_TYPE: PRICE, MONEY_TYPE: MONEY,
}


def _schema(*fields: tuple) -> StructType:
    # Every column is nullable in storage: silver must be able to hold dirty rows, and gold
    # key non-nullness is enforced by the checks rather than by Iceberg `required` fields.
    return StructType([StructField(name, dtype, True) for name, dtype in fields])


SCHEMAS = {table: _schema(*((name, _TYPES[kind]) for name, kind in cols)) for table, cols in COLUMNS.items()}
PRODUCTS_SCHEMA, PAGE_VIEWS_SCHEMA, PURCHASES_SCHEMA = (SCHEMAS[t] for t in (PRODUCTS, PAGE_VIEWS, PURCHASES))
CUSTOMER_ANALYTICS_SCHEMA, SALES_SUMMARY_SCHEMA, PRODUCT_PERFORMANCE_SCHEMA = (
    SCHEMAS[t] for t in (CUSTOMER_ANALYTICS, SALES_SUMMARY, PRODUCT_PERFORMANCE))


def conform(df, table: str):
    """Select and cast a DataFrame to the contract schema of `table`, in contract column order."""
    return df.select(*[df[f.name].cast(f.dataType).alias(f.name) for f in SCHEMAS[table]])
