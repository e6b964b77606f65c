"""Silver reported to Dagster: per-date observations from the Iceberg snapshots Spark wrote."""

from collections import Counter

import dagster as dg
import pytest

from dagster._core.definitions.observe import observe

from dagster_livy.lakehouse.assets import SILVER
from dagster_livy.lakehouse.definitions import defs
from dagster_livy.lakehouse.silver import DATA_VERSION_TAG, observe_silver, report_silver, silver_observation_sensor
from tests.conftest import generate_silver, lakehouse_catalog, point_lakehouse_at

pytestmark = pytest.mark.integration
D1, D2 = "2026-08-10", "2026-08-11"
FACTS = ("silver.page_views", "silver.purchases")


def scanned_rows_per_date(catalog, table: str) -> dict[str, int]:
    dates = catalog.load_table(table).scan(selected_fields=("event_date",)).to_arrow().column("event_date")
    return {d.isoformat(): n for d, n in Counter(dates.to_pylist()).items()}


@pytest.fixture(scope="module")
def silver(livy_stack):
    mp = pytest.MonkeyPatch()
    point_lakehouse_at(livy_stack, mp)
    generate_silver(livy_stack, D1, D2, page_views_per_day=300, seed=3, dirty_share=0.05, label="observe")
    yield livy_stack
    mp.undo()


def test_silver_observations_carry_rows_per_date_and_a_version_that_follows_the_data(silver, tmp_path):
    catalog = lakehouse_catalog(silver)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        reported = report_silver(instance, catalog)
        by_key = {(p.table, p.date): p for p in reported}
        for table in FACTS:
            expected = scanned_rows_per_date(catalog, table)
            assert {d: by_key[(table, d)].rows for d in expected} == expected
            assert {d for t, d in by_key if t == table} == set(expected)
            assert expected[D1] > 0 and expected[D2] > 0
            # Read back from the instance as the UI does: the partition's latest observation.
            key = dg.AssetKey(table.split("."))
            for date in (D1, D2):
                [record] = instance.fetch_observations(
                    dg.AssetRecordsFilter(asset_key=key, asset_partitions=[date]), limit=1).records
                obs = record.asset_observation
                assert obs.metadata["dagster/row_count"].value == expected[date]
                assert obs.tags[DATA_VERSION_TAG] == by_key[(table, date)].data_version
        # "Observe" in the UI (the code location's observable silver assets) reports the same.
        graph = defs.resolve_asset_graph()
        for table, date in (("silver.purchases", D1), ("silver.products", None)):
            key = dg.AssetKey(table.split("."))
            assert graph.get(key).is_observable, table
            result = observe([graph.assets_def_for_key(key)], instance=instance, partition_key=date)
            [obs] = [e.event_specific_data.asset_observation for e in result.all_events
                     if e.event_type_value == "ASSET_OBSERVATION"]
            assert obs.tags[DATA_VERSION_TAG] == by_key[(table, date)].data_version
            assert obs.metadata["dagster/row_count"].value == by_key[(table, date)].rows
        assert {s.key for s in SILVER} == {k for k in graph.get_all_asset_keys() if k.path[0] == "silver"}
        products = by_key[("silver.products", None)]
        assert products.rows == catalog.load_table("silver.products").scan().to_arrow().num_rows > 0

    # Nothing changed: the sensor reports nothing once it has seen the tables.
    first = silver_observation_sensor(dg.build_sensor_context())
    assert isinstance(first, dg.SensorResult) and len(first.asset_events) == len(reported)
    again = silver_observation_sensor(dg.build_sensor_context(cursor=first.cursor))
    assert isinstance(again, dg.SkipReason)

    # Silver of D2 rewritten with other data: D2's versions change, D1's do not, and the
    # sensor reports exactly the changed partitions.
    generate_silver(silver, D2, D2, page_views_per_day=200, seed=4, dirty_share=0.05, label="observe")
    after, _ = observe_silver(catalog)
    after_by_key = {(p.table, p.date): p for p in after}
    for table in FACTS:
        assert after_by_key[(table, D1)].data_version == by_key[(table, D1)].data_version
        assert after_by_key[(table, D2)].data_version != by_key[(table, D2)].data_version
        assert after_by_key[(table, D2)].rows == scanned_rows_per_date(catalog, table)[D2]
    changed = silver_observation_sensor(dg.build_sensor_context(cursor=first.cursor))
    got = {(".".join(e.asset_key.path), e.partition) for e in changed.asset_events}
    assert {(t, D2) for t in FACTS} <= got
    assert not {(t, D1) for t in FACTS} & got
