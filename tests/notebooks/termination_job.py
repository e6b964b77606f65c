"""A job for the notebook termination test: one notebook asset whose notebook sleeps (see
test_notebooks_on_livy)."""

import os

import dagster as dg

from dagster_livy.notebooks import notebook_asset

sleeping_notebook = notebook_asset(
    os.environ["TERMINATION_NOTEBOOK"], key="sleeping_notebook",
    partitions_def=dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC"))

defs = dg.Definitions(
    assets=[sleeping_notebook],
    jobs=[dg.define_asset_job("sleeping_notebook_job", [sleeping_notebook], executor_def=dg.in_process_executor)],
)
