"""Jupyter layer: the `pyspark-livy` kernel, an IPython kernel running inside a Livy batch's
Spark driver (provisioner.py on the Jupyter side, launcher.py in the driver, kernelspec.py
installs the spec). No Dagster import here."""

KERNEL_NAME = "pyspark-livy"
DISPLAY_NAME = "PySpark on Livy"
PROVISIONER_NAME = "livy-provisioner"
