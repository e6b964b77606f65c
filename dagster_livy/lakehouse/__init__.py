"""The e-commerce lakehouse pipeline: silver Iceberg tables -> three gold tables, built by the
PySpark batch scripts in spark_scripts/ through Livy. Definitions: dagster_livy.lakehouse.definitions."""
