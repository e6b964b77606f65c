"""All Definitions of the lakehouse code location (declared in pyproject's [tool.dagster])."""

import dagster as dg

from dagster_livy.lakehouse.assets import FRESHNESS, GOLD, SILVER
from dagster_livy.lakehouse.jobs import JOBS, SCHEDULES
from dagster_livy.lakehouse.notebooks import NOTEBOOK_ASSETS, NOTEBOOK_JOBS, NOTEBOOK_SCHEDULES
from dagster_livy.lakehouse.settings import build_resources
from dagster_livy.lakehouse.silver import SENSORS as SILVER_SENSORS, observable_silver

defs = dg.Definitions(
    assets=[*observable_silver(SILVER), *GOLD, *NOTEBOOK_ASSETS],
    asset_checks=[FRESHNESS],
    jobs=[*JOBS, *NOTEBOOK_JOBS],
    schedules=[*SCHEDULES, *NOTEBOOK_SCHEDULES],
    sensors=[*SILVER_SENSORS],
    resources=build_resources(),
)
