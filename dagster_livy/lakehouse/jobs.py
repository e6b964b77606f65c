"""Jobs over the gold assets and their daily schedules (each runs the previous UTC day)."""

from __future__ import annotations

import dagster as dg

from dagster_livy.lakehouse.assets import DAILY, customer_analytics, product_performance, sales_summary

silver_to_gold_processing = dg.define_asset_job(
    "silver_to_gold_processing", selection=[customer_analytics, sales_summary, product_performance],
    partitions_def=DAILY, description="All three gold tables for a day.")
customer_analytics_processing = dg.define_asset_job(
    "customer_analytics_processing", selection=[customer_analytics], partitions_def=DAILY)
sales_analytics_processing = dg.define_asset_job(
    "sales_analytics_processing", selection=[sales_summary, product_performance], partitions_def=DAILY)

JOBS = [silver_to_gold_processing, customer_analytics_processing, sales_analytics_processing]


def _daily(job, name: str, hour: int, status: dg.DefaultScheduleStatus) -> dg.ScheduleDefinition:
    # A daily partitioned schedule targets the last complete partition: yesterday (UTC).
    return dg.build_schedule_from_partitioned_job(job, name=name, hour_of_day=hour, minute_of_hour=0,
                                                  default_status=status)


SCHEDULES = [
    _daily(silver_to_gold_processing, "daily_gold_processing_schedule", 2, dg.DefaultScheduleStatus.RUNNING),
    _daily(customer_analytics_processing, "customer_analytics_schedule", 3, dg.DefaultScheduleStatus.STOPPED),
    _daily(sales_analytics_processing, "sales_analytics_schedule", 4, dg.DefaultScheduleStatus.STOPPED),
]
