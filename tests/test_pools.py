"""`python -m dagster_livy.lakehouse.pools`: the `livy` pool's limit written on the instance.

The race it prevents needs PostgreSQL and runs started together (tests/cluster, three runs at
once); here, on a SQLite instance, what it writes and that every Livy asset claims that pool.
"""

from __future__ import annotations

import dagster as dg

from dagster_livy.lakehouse.definitions import defs
from dagster_livy.lakehouse.pools import LIVY_POOL, set_livy_pool_limit


def test_writes_the_default_limit_as_the_pools_own_limit():
    with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 2}}}) as instance:
        assert instance.event_log_storage.get_concurrency_info(LIVY_POOL).slot_count == 0  # created lazily
        assert set_livy_pool_limit(instance) == 2
        info = instance.event_log_storage.get_concurrency_info(LIVY_POOL)
        assert (info.slot_count, info.limit, info.using_default_limit) == (2, 2, False)


def test_follows_a_changed_default_limit_when_rerun(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides={"concurrency": {"pools": {"default_limit": 2}}}) as i:
        set_livy_pool_limit(i)
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides={"concurrency": {"pools": {"default_limit": 5}}}) as i:
        assert set_livy_pool_limit(i) == 5
        assert i.event_log_storage.get_concurrency_info(LIVY_POOL).slot_count == 5


def test_no_default_limit_leaves_the_pool_unlimited():
    with dg.instance_for_test() as instance:
        assert set_livy_pool_limit(instance) is None
        assert instance.event_log_storage.get_concurrency_info(LIVY_POOL).slot_count == 0


def test_every_asset_that_submits_a_livy_batch_claims_the_pool():
    graph = defs.resolve_asset_graph()
    livy_kind = [k for k in graph.get_all_asset_keys() if "livy" in graph.get(k).kinds]
    assert livy_kind
    pools = {k: graph.get(k).pools for k in livy_kind}
    assert all(p == {LIVY_POOL} for p in pools.values()), pools
