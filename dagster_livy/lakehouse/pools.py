"""The `livy` pool: its name, and its limit written on the instance before any run starts.

Every asset that submits a Livy batch claims a slot of this pool, so the pool caps the Spark
batches Dagster has in flight. `dagster.yaml` can only give a default limit
(`concurrency.pools.default_limit`); Dagster then creates the pool's row lazily, in the first
run that needs it. On a PostgreSQL instance, runs that start together race on that insert and all
but one fail with `UniqueViolation ... concurrency_limits_concurrency_key_key` (dagster-io/dagster
issue 33552, open on 1.13: the fallback UPDATE runs in the aborted transaction). A limit set on the
instance is never re-initialized, so `python -m dagster_livy.lakehouse.pools` writes the default
limit as the pool's own limit once, before the daemon or any run starts (`make dev`/`make demo`
with CLUSTER=1, the compose daemon, the cluster tests). Re-running it follows a changed
`default_limit`.
"""

from __future__ import annotations

import sys

import dagster as dg

LIVY_POOL = "livy"


def set_livy_pool_limit(instance: dg.DagsterInstance) -> int | None:
    """Write the instance's default pool limit as the `livy` pool's limit; returns it.

    None (and nothing written) when the instance has no default limit: the pool is then unlimited,
    as Dagster would leave it.
    """
    limit = instance.global_op_concurrency_default_limit
    if limit is None:
        return None
    # The storage call behind `dagster instance concurrency set` (public CLI, same effect).
    instance.event_log_storage.set_concurrency_slots(LIVY_POOL, int(limit))
    return int(limit)


def main() -> int:
    with dg.DagsterInstance.get() as instance:
        limit = set_livy_pool_limit(instance)
        home = instance.root_directory
    print(f"pool {LIVY_POOL!r}: " + (f"limit {limit} (from concurrency.pools.default_limit in {home}/dagster.yaml)"
                                     if limit is not None else
                                     f"no concurrency.pools.default_limit in {home}/dagster.yaml: left unlimited"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
