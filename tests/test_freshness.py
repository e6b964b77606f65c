"""Freshness checks at pinned instants: the rule (D must be materialized by 06:00 UTC on D+1)
and what the checks report against a real Dagster instance. No Spark: materializations are
reported to the instance directly, so these run in seconds and at any hour."""

import dagster as dg
import pytest

from dagster_livy.lakehouse.clock import LakehouseClock
from dagster_livy.lakehouse.definitions import defs
from dagster_livy.lakehouse.freshness import due_partition
from dagster_livy.lakehouse.clock import parse_instant

GOLD = ["gold/daily_customer_analytics", "gold/daily_sales_summary", "gold/product_performance_analytics"]


@pytest.mark.parametrize("now, due", [
    ("2026-11-28T07:00:00+00:00", "2026-11-27"),  # after the deadline: yesterday
    ("2026-11-28T06:00:00+00:00", "2026-11-27"),  # at the deadline
    ("2026-11-28T05:59:59+00:00", "2026-11-26"),  # before it: the day before yesterday
    ("2026-11-28T00:00:01+00:00", "2026-11-26"),  # just after midnight
    ("2026-11-27T23:59:59+00:00", "2026-11-26"),  # just before midnight
    ("2026-12-01T05:00:00+00:00", "2026-11-29"),  # the 1st of a month, before the deadline
    ("2026-12-01T06:30:00+00:00", "2026-11-30"),  # ... and after it
    ("2027-01-01T00:01:00+00:00", "2026-12-30"),  # new year
    ("2024-03-01T07:00:00+00:00", "2024-02-29"),  # leap day
    ("2026-11-28T08:00:00+02:00", "2026-11-27"),  # 06:00 UTC given in another offset
    ("2026-11-28T07:59:00+02:00", "2026-11-26"),  # 05:59 UTC given in another offset
])
def test_due_partition_at_fixed_instants(now, due):
    assert due_partition(parse_instant(now)).isoformat() == due


def evaluate(instance: dg.DagsterInstance, now: str) -> dict[str, tuple[bool, str]]:
    result = defs.resolve_job_def("gold_freshness_checks").execute_in_process(
        resources={"clock": LakehouseClock(frozen_at=now)}, instance=instance, raise_on_error=False)
    assert result.success
    return {e.asset_key.to_user_string(): (e.passed, e.description or "") for e in result.get_asset_check_evaluations()}


def materialize(instance: dg.DagsterInstance, asset: str, partition: str) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=dg.AssetKey.from_user_string(asset), partition=partition))


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


def test_nothing_materialized_is_overdue_naming_the_due_partition(instance):
    got = evaluate(instance, "2026-11-01T00:01:00+00:00")
    assert set(got) == set(GOLD)
    for asset, (passed, text) in got.items():
        assert not passed
        assert "2026-10-30" in text and "latest materialized: none" in text, text


def test_yesterday_built_passes_after_the_deadline_but_not_before_it(instance):
    for asset in GOLD:
        materialize(instance, asset, "2026-10-31")
    after = evaluate(instance, "2026-11-01T06:00:00+00:00")
    assert after == {a: (True, after[a][1]) for a in GOLD}
    assert all("2026-10-31 is materialized" in text for _, text in after.values()), after
    # Before 06:00 the due partition is still 2026-10-30, which nobody built.
    before = evaluate(instance, "2026-11-01T05:59:00+00:00")
    assert {a: p for a, (p, _) in before.items()} == {a: False for a in GOLD}
    assert all("2026-10-30" in text and "latest materialized: 2026-10-31" in text for _, text in before.values())


def test_each_table_is_judged_on_its_own(instance):
    materialize(instance, GOLD[0], "2026-11-30")
    materialize(instance, GOLD[1], "2026-11-29")
    got = evaluate(instance, "2026-12-01T06:30:00+00:00")
    assert {a: p for a, (p, _) in got.items()} == {GOLD[0]: True, GOLD[1]: False, GOLD[2]: False}


def test_the_clock_refuses_a_malformed_instant_naming_the_setting():
    with pytest.raises(Exception, match="frozen_at"):
        LakehouseClock(frozen_at="yesterday at six")
    with pytest.raises(ValueError, match="LAKEHOUSE_NOW"):
        parse_instant("28/11/2026")


def test_one_tables_check_runs_alone(instance):
    """Selecting one gold asset selects only its freshness check (the dagster CLI does this)."""
    materialize(instance, GOLD[1], "2026-10-31")
    job = defs.resolve_job_def("gold_freshness_checks")
    key = dg.AssetCheckKey(dg.AssetKey.from_user_string(GOLD[1]), "freshness_check")
    subset = job.get_subset(asset_selection=set(), asset_check_selection={key})
    result = subset.execute_in_process(resources={"clock": LakehouseClock(frozen_at="2026-11-01T07:00:00+00:00")},
                                       instance=instance, raise_on_error=False)
    assert [(e.asset_key.to_user_string(), e.passed) for e in result.get_asset_check_evaluations()] == [(GOLD[1], True)]


def test_gold_assets_carry_dagsters_freshness_policy_with_the_same_deadline():
    """Dagster's own freshness status (UI, daemon) uses the deadline the checks state."""
    from dagster_livy.lakehouse.definitions import defs
    from dagster_livy.lakehouse.freshness import DEADLINE_UTC

    gold = [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] == "gold"]
    assert len(gold) == 3
    for key in gold:
        policy = defs.resolve_assets_def(key).specs_by_key[key].freshness_policy
        assert policy.deadline_cron == f"{DEADLINE_UTC.minute} {DEADLINE_UTC.hour} * * *", key
        assert policy.timezone == "UTC"
