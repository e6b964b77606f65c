"""Spark transformations of the e-commerce lakehouse: silver -> validity -> gold -> checks.

Depends on pyspark only (no pyiceberg, no Dagster), so Livy batches, plain spark-submit and
analysts' notebooks all import the very same functions. `cli` adds the Dagster Pipes runner.
"""
