"""Jobs over the gold assets and their daily schedules (each runs the previous UTC day)."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from dagster_livy.lakehouse.assets import FRESHNESS, GOLD_KEYS
from lakehouse_jobs import tables as c

# Freshness is judged by its own schedule (or the gold_freshness_checks job), not inside the runs
# that are about to produce the data.
_FRESHNESS = dg.AssetSelection.checks(FRESHNESS)


def _gold_job(name: str, tables: list[str], description: str):
    """A job over some gold tables: one Livy batch per run builds exactly those (a subset of the
    gold_tables multi-asset), with their checks."""
    selection = dg.AssetSelection.assets(*(GOLD_KEYS[t] for t in tables)) - _FRESHNESS
    return dg.define_asset_job(name, selection=selection, description=description)


silver_to_gold_processing = _gold_job(
    "silver_to_gold_processing", list(c.GOLD_TABLES),
    "All three gold tables for a day (or a date range), in one Livy batch on one silver read.")
customer_analytics_processing = _gold_job(
    "customer_analytics_processing", [c.CUSTOMER_ANALYTICS], "gold.daily_customer_analytics alone.")
sales_analytics_processing = _gold_job(
    "sales_analytics_processing", [c.SALES_SUMMARY, c.PRODUCT_PERFORMANCE],
    "gold.daily_sales_summary and gold.product_performance_analytics, in one Livy batch.")
gold_freshness_checks = dg.define_asset_job(
    "gold_freshness_checks", selection=_FRESHNESS,
    description="Is yesterday's gold partition there by 06:00 UTC?")

JOBS = [silver_to_gold_processing, customer_analytics_processing, sales_analytics_processing,
        gold_freshness_checks]


def daily_schedule(job, name: str, hour: int, status: dg.DefaultScheduleStatus) -> dg.ScheduleDefinition:
    """Runs `job` at hour:00 UTC for the last complete partition: the previous UTC day."""

    @dg.schedule(name=name, job=job, cron_schedule=f"0 {hour} * * *", execution_timezone="UTC",
                 default_status=status,
                 description=f"{job.description} Runs at {hour:02d}:00 UTC for the previous UTC day.")
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        tick = context.scheduled_execution_time.astimezone(dt.timezone.utc)
        day = (tick.date() - dt.timedelta(days=1)).isoformat()
        return dg.RunRequest(run_key=f"{name}:{day}", partition_key=day)

    return _schedule


SCHEDULES = [
    daily_schedule(silver_to_gold_processing, "daily_gold_processing_schedule", 2, dg.DefaultScheduleStatus.RUNNING),
    daily_schedule(customer_analytics_processing, "customer_analytics_schedule", 3, dg.DefaultScheduleStatus.STOPPED),
    daily_schedule(sales_analytics_processing, "sales_analytics_schedule", 4, dg.DefaultScheduleStatus.STOPPED),
    # Hourly, so a late partition turns the check green within the hour; cheap (no Spark).
    dg.ScheduleDefinition(
        name="gold_freshness_schedule", job=gold_freshness_checks, cron_schedule="10 * * * *",
        execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Evaluates the gold freshness checks at 10 past every hour (UTC)."),
]
