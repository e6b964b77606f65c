"""Freshness of the gold tables: the partition for day D must exist by 06:00 UTC on D+1.

The rule is written out here in plain date arithmetic (not through a cron library) and the
current instant comes from the `clock` resource, so the check says the same thing at any hour a
test pins, and what it says can be read off this module.
"""

import datetime as dt
from typing import Iterable, Sequence

import dagster as dg

from dagster_livy.lakehouse.clock import LakehouseClock

DEADLINE_UTC = dt.time(6, 0)
CHECK_NAME = "freshness_check"
RULE = "the partition for day D is materialized by 06:00 UTC on D+1"


# The same deadline in Dagster's own freshness API (1.13 `FreshnessPolicy`), shown as each gold
# asset's freshness status in the UI and evaluated by the daemon: some materialization in the 24 h
# before 06:00 UTC. Dagster's policy is per asset, not per partition, so the checks below remain
# what states the rule for the due partition D exactly.
FRESHNESS_POLICY = dg.FreshnessPolicy.cron(
    deadline_cron=f"{DEADLINE_UTC.minute} {DEADLINE_UTC.hour} * * *", lower_bound_delta=dt.timedelta(hours=24),
    timezone="UTC")


def due_partition(now: dt.datetime) -> dt.date:
    """The newest daily partition whose deadline has passed at `now`."""
    now = now.astimezone(dt.timezone.utc)
    days_back = 1 if now.time() >= DEADLINE_UTC else 2
    return now.date() - dt.timedelta(days=days_back)


def deadline_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), DEADLINE_UTC, tzinfo=dt.timezone.utc)


def build_freshness_checks(assets: Sequence[dg.AssetsDefinition]) -> dg.AssetChecksDefinition:
    """One `freshness_check` per asset (each key of a multi-asset), evaluated together against the instance's materializations."""
    keys = [key for a in assets for key in a.keys]
    specs = [dg.AssetCheckSpec(CHECK_NAME, asset=key, description=f"Passes when {RULE}.") for key in keys]

    # can_subset: selecting one asset (e.g. `dagster asset materialize --select ...`) selects its check.
    @dg.multi_asset_check(specs=specs, name="gold_freshness", description=f"Passes when {RULE}.", can_subset=True)
    def _freshness(context: dg.AssetCheckExecutionContext, clock: LakehouseClock) -> Iterable[dg.AssetCheckResult]:
        now = clock.now()
        due = due_partition(now)
        selected = {k.asset_key for k in context.selected_asset_check_keys}
        for key in (k for k in keys if k in selected):
            done = context.instance.get_materialized_partitions(key)
            latest = max(done) if done else None
            fresh = due.isoformat() in done
            table = ".".join(key.path)
            if fresh:
                text = f"{table} is fresh: partition {due} is materialized (due by {deadline_of(due):%Y-%m-%d %H:%M} UTC)."
            else:
                text = (f"{table} is overdue: partition {due} was due by {deadline_of(due):%Y-%m-%d %H:%M} UTC "
                        f"and is not materialized (latest materialized: {latest or 'none'}).")
            yield dg.AssetCheckResult(
                asset_key=key, check_name=CHECK_NAME, passed=fresh,
                severity=dg.AssetCheckSeverity.WARN, description=text,
                metadata={
                    "due_partition": dg.MetadataValue.text(due.isoformat()),
                    "deadline": dg.MetadataValue.text(deadline_of(due).isoformat()),
                    "evaluated_at": dg.MetadataValue.text(now.isoformat()),
                    "latest_materialized_partition": dg.MetadataValue.text(latest or "none"),
                })

    return _freshness
