"""The lakehouse end to end on the real stack: silver through Livy, gold through Dagster + Pipes +
Livy, read back with pyiceberg."""

import datetime as dt
from decimal import Decimal

import dagster as dg
import pytest

from dagster_livy.lakehouse.clock import LakehouseClock
from dagster_livy.lakehouse.definitions import defs
from dagster_livy.lakehouse.settings import build_resources
from tests.conftest import generate_silver, lakehouse_catalog, point_lakehouse_at
from tests.spark import oracle

pytestmark = pytest.mark.integration
# Fixed dates and pinned instants: what the suite asserts never depends on when it runs.
D0, D1, D2 = "2026-10-29", "2026-10-30", "2026-10-31"
D2_DUE = "2026-11-01T06:00:00+00:00"  # the deadline of D2: D2 is the partition that must exist
D1_DUE = "2026-11-01T05:59:00+00:00"  # a minute earlier (the 1st of a month): D1 is still the due one
GOLD = ("gold.daily_customer_analytics", "gold.daily_sales_summary", "gold.product_performance_analytics")


@pytest.fixture(scope="module")
def lakehouse(livy_stack):
    """Silver for D0..D2 (with dirty rows of every kind), generated through the test Livy; the
    lakehouse definitions pointed at that Livy for the module."""
    mp = pytest.MonkeyPatch()
    point_lakehouse_at(livy_stack, mp)
    generate_silver(livy_stack, D0, D2, page_views_per_day=4000, seed=7, dirty_share=0.1, label="pipeline")
    catalog = lakehouse_catalog(livy_stack)
    yield catalog
    mp.undo()


def run(job: str, start: str, end: str | None = None, instance: dg.DagsterInstance | None = None
        ) -> dg.ExecuteInProcessResult:
    tags = {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end or start}
    return defs.resolve_job_def(job).execute_in_process(
        tags=tags, resources=build_resources(), instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False)


@pytest.fixture(scope="module")
def gold_d2(lakehouse):
    """silver_to_gold_processing for D2 (yesterday), once, on an instance the tests share."""
    instance = dg.DagsterInstance.ephemeral()
    return run("silver_to_gold_processing", D2, instance=instance), instance


def failure_text(result) -> str:
    return "\n".join(str(e.step_failure_data.error) for e in result.all_events if e.event_type_value == "STEP_FAILURE")


def rows_of(catalog, table: str, date: str) -> list[dict]:
    arrow = catalog.load_table(table).scan(row_filter=f"date = '{date}'").to_arrow()
    return sorted(arrow.to_pylist(), key=lambda r: tuple(str(v) for v in r.values()))


def test_silver_to_gold_materializes_every_gold_asset_with_checks(lakehouse, gold_d2):
    result, _ = gold_d2
    assert result.success, failure_text(result)
    mats = {".".join(e.asset_key.path): e.event_specific_data.materialization
            for e in result.get_asset_materialization_events()}
    assert set(mats) == set(GOLD)
    batches = set()
    for table, mat in mats.items():
        md = {k: v.value for k, v in mat.metadata.items()}
        assert mat.partition == D2 and md["dagster/row_count"] > 0 and md["livy_state"] == "success", (table, md)
        assert md["livy_batch_url"].endswith(md["livy_batch_name"])
        # Identifiers are text (the UI plots numbers); one batch built all three tables.
        assert isinstance(mat.metadata["livy_batch_id"], dg.TextMetadataValue)
        assert isinstance(mat.metadata["snapshot_id"], dg.TextMetadataValue)
        batches.add(md["livy_batch_name"])
    [batch] = batches
    assert batch.startswith(f"gold_tables--{D2}--"), batch
    checks = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert len(checks) == 8 and all(checks.values()), checks
    # Dirty silver rows are excluded and counted by reason.
    customer = {k: v.value for k, v in mats["gold.daily_customer_analytics"].metadata.items()}
    reasons = {k: v for k, v in customer.items() if k.startswith("rejected.")}
    for reason in ("null_key", "unknown_product", "duplicate"):
        assert reasons[f"rejected.page_views.{reason}"] > 0, reasons
    for reason in ("null_key", "non_positive_quantity", "negative_price", "unknown_product"):
        assert reasons[f"rejected.purchases.{reason}"] > 0, reasons
    # An independent recompute from silver (plain Python over pyiceberg) matches Livy-written gold
    # exactly, and the rejected counts reported through Pipes are the oracle's.
    day = dt.date.fromisoformat(D2)
    assert oracle.compare_gold(lakehouse, day) == {}
    for table, counts in oracle.expected_rejections(lakehouse, day).items():
        for reason, n in counts.items():
            assert reasons.get(f"rejected.{table.split('.')[-1]}.{reason}") == n, (table, reason, n, reasons)
    # Σ revenue equal in the three gold tables for the date, and to valid silver revenue.
    totals = {t: sum((r["revenue"] or Decimal(0)) for r in rows_of(lakehouse, t, D2)) for t in GOLD}
    assert set(totals.values()) == {oracle.valid_silver_revenue(lakehouse, day)}, totals


def freshness_at(instant: str, instance: dg.DagsterInstance) -> dict[str, tuple[bool, str]]:
    fresh = defs.resolve_job_def("gold_freshness_checks").execute_in_process(
        resources={**build_resources(), "clock": LakehouseClock(frozen_at=instant)}, instance=instance,
        raise_on_error=False)
    return {e.asset_key.to_user_string(): (e.passed, e.description or "") for e in fresh.get_asset_check_evaluations()}


def test_freshness_checks_after_building_a_day_at_pinned_instants(gold_d2):
    result, instance = gold_d2
    assert result.success, failure_text(result)
    gold_keys = {t.replace(".", "/") for t in GOLD}
    at_deadline = freshness_at(D2_DUE, instance)
    assert {k: passed for k, (passed, _) in at_deadline.items()} == {k: True for k in gold_keys}, at_deadline
    # A minute before D2's deadline, D1 is the partition due, and this instance never built it.
    earlier = freshness_at(D1_DUE, instance)
    assert {k: passed for k, (passed, _) in earlier.items()} == {k: False for k in gold_keys}, earlier
    assert all(D1 in text and f"latest materialized: {D2}" in text for _, text in earlier.values()), earlier


def test_freshness_check_fails_without_the_due_partition(lakehouse):
    evaluations = freshness_at(D2_DUE, dg.DagsterInstance.ephemeral())
    assert len(evaluations) == 3 and not any(passed for passed, _ in evaluations.values())
    assert all(D2 in text for _, text in evaluations.values()), evaluations


def latest_materialization(instance: dg.DagsterInstance, table: str, date: str) -> dg.AssetMaterialization:
    [record] = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(table.split(".")), asset_partitions=[date]), limit=1).records
    return record.asset_materialization


def test_a_range_in_one_batch_gives_each_partition_its_own_figures(lakehouse):
    """sales_analytics_processing (a two-table subset of the gold multi-asset) over D0..D2 in one run
    and one Livy batch: each partition's latest materialization in the instance carries that date's
    rows, revenue and rejections - equal to what pyiceberg and the oracle find for that date - not
    the range's totals."""
    instance = dg.DagsterInstance.ephemeral()
    result = run("sales_analytics_processing", D0, D2, instance=instance)
    assert result.success, failure_text(result)
    events = result.get_asset_materialization_events()
    built = sorted((".".join(e.asset_key.path), e.event_specific_data.materialization.partition) for e in events)
    tables = ("gold.daily_sales_summary", "gold.product_performance_analytics")
    assert built == sorted((t, d) for t in tables for d in (D0, D1, D2)), built  # one per partition, no more
    assert len({e.event_specific_data.materialization.metadata["livy_batch_name"].value for e in events}) == 1
    for date in (D0, D1, D2):
        day = dt.date.fromisoformat(date)
        rejections = oracle.expected_rejections(lakehouse, day)
        for table in tables:
            md = {k: v.value for k, v in latest_materialization(instance, table, date).metadata.items()}
            rows = rows_of(lakehouse, table, date)
            assert md["dagster/row_count"] == len(rows) > 0, (table, date, md)
            assert Decimal(str(md["revenue"])) == sum((r["revenue"] or Decimal(0)) for r in rows), (table, date)
            n = 2 if table == "gold.daily_sales_summary" else 3
            assert md["run_dates"] == f"{D0}..{D2}" and md["checks"] == f"{n}/{n} passed over {D0}..{D2}", md
            reads = ("silver.purchases",) if table == "gold.daily_sales_summary" else ("silver.page_views", "silver.purchases")
            for silver in reads:
                for reason, n in rejections[silver].items():
                    assert md[f"rejected.{silver.split('.')[-1]}.{reason}"] == n, (table, date, silver, reason, md)
            assert md["rejected_rows"] == sum(sum(rejections[t].values()) for t in reads)
        ranks = sorted({r["revenue_rank"] for r in rows_of(lakehouse, "gold.product_performance_analytics", date)})
        assert ranks == list(range(1, len(ranks) + 1))
    # The dates differ, so per-date figures cannot all be one range total repeated.
    counts = {d: latest_materialization(instance, "gold.daily_sales_summary", d).metadata["revenue"].value
              for d in (D0, D1, D2)}
    assert len(set(counts.values())) > 1, counts


def test_plain_dagster_cli_materializes_a_partition_from_the_repo_root(lakehouse, tmp_path):
    """The dagster CLI from the repo root. Dagster 1.13 reads pyproject's [tool.dagster] for
    workspace commands (`dagster dev`, `dagster job list`) but `dagster asset materialize` still
    wants the module (-m): the README says so."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "dagster"), "asset", "materialize",
         "-m", "dagster_livy.lakehouse.definitions", "--select", "gold/daily_sales_summary", "--partition", D2],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "RUN_SUCCESS" in proc.stdout + proc.stderr
    # Selecting one table of the gold multi-asset builds that table alone.
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        done = {t: instance.get_materialized_partitions(dg.AssetKey(t.split("."))) for t in GOLD}
    assert done == {t: ({D2} if t == "gold.daily_sales_summary" else set()) for t in GOLD}, done
