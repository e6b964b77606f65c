"""Silver, as Dagster sees it: observations of the Iceberg tables the silver job writes.

Silver is written outside Dagster (generate_silver.py, or an upstream ingestion), so Dagster only
knows it exists when it is told. This module reads each silver table's current Iceberg snapshot
with pyiceberg (metadata only, no Spark) and reports one `AssetObservation` per date partition
(one for the unpartitioned products table) with:

- `dagster/row_count`: rows in that partition;
- a data version: a fingerprint of the partition's data and delete files (Iceberg files are
  immutable, so the set of files is the content), which changes exactly when the partition does;
- the Iceberg snapshot that last changed the partition, and when.

Gold materializations record the data versions of the silver partitions they read, so the UI can
show lineage with figures, silver's freshness (last_updated_at), and gold partitions whose silver
changed since. `silver_observation_sensor` reports changes every few minutes under `make dev`;
`make demo` reports them right after writing silver (report_silver).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import warnings
from collections import defaultdict
from dataclasses import dataclass

import dagster as dg

# tables, not contract: the code location never imports pyspark.
from lakehouse_jobs import tables as c

DATA_VERSION_TAG = "dagster/data_version"  # the tag Dagster reads an observation's data version from
SENSOR_INTERVAL_S = 300


@dataclass(frozen=True)
class SilverPartition:
    table: str
    date: str | None          # None: the unpartitioned table as a whole
    rows: int
    data_version: str
    files: int
    last_snapshot_id: int | None
    last_updated_at: dt.datetime | None
    table_snapshot_id: int

    def observation(self) -> dg.AssetObservation:
        md = {
            "dagster/row_count": dg.MetadataValue.int(self.rows),
            "data_files": dg.MetadataValue.int(self.files),
            # Ids, not measurements: text, so the UI does not plot them.
            "iceberg_snapshot_id": dg.MetadataValue.text(str(self.last_snapshot_id)),
            "table_snapshot_id": dg.MetadataValue.text(str(self.table_snapshot_id)),
            "dagster/table_name": dg.MetadataValue.text(c.qualified(self.table)),
        }
        if self.last_updated_at:
            md["last_updated_at"] = dg.MetadataValue.timestamp(self.last_updated_at)
        return dg.AssetObservation(
            asset_key=dg.AssetKey(self.table.split(".")), partition=self.date, metadata=md,
            tags={DATA_VERSION_TAG: self.data_version, f"{DATA_VERSION_TAG}_is_user_provided": "true"},
            description=f"{c.qualified(self.table)} as of Iceberg snapshot {self.table_snapshot_id}")


def _iso(value) -> str:
    """An identity date partition value from pyiceberg (a date, or days since the epoch)."""
    if isinstance(value, int):
        value = dt.date(1970, 1, 1) + dt.timedelta(days=value)
    return value.isoformat()


def read_partitions(table) -> list[SilverPartition]:
    """Per-partition figures of a pyiceberg table's current snapshot (metadata reads only, unless
    a partition has delete files: then its rows are counted by a scan)."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        return []
    name = ".".join(table.name()[-2:])
    column = c.PARTITION_COLUMN[name]
    files = table.inspect.files().select(["content", "file_path", "partition", "record_count"]).to_pylist()
    parts = {} if column is None else {
        _iso(p["partition"][column]): p for p in table.inspect.partitions().to_pylist()}
    by_date: dict[str | None, list[dict]] = defaultdict(list)
    for f in files:
        by_date[_iso(f["partition"][column]) if column else None].append(f)
    out = []
    for date, fs in sorted(by_date.items(), key=lambda kv: kv[0] or ""):
        data = [f for f in fs if f["content"] == 0]
        rows = sum(f["record_count"] for f in data)
        if len(data) != len(fs):  # row-level deletes: the record counts overstate, count for real
            rows = _count(table, column, date)
        stats = parts.get(date) if column else None
        last_id = stats["last_updated_snapshot_id"] if stats else snapshot.snapshot_id
        last_at = stats["last_updated_at"] if stats else dt.datetime.fromtimestamp(
            snapshot.timestamp_ms / 1000, dt.timezone.utc)
        if last_at is not None and last_at.tzinfo is None:
            last_at = last_at.replace(tzinfo=dt.timezone.utc)
        fingerprint = hashlib.sha256("\n".join(sorted(f["file_path"] for f in fs)).encode()).hexdigest()[:16]
        out.append(SilverPartition(name, date, rows, fingerprint, len(data), last_id, last_at, snapshot.snapshot_id))
    return out


def _count(table, column: str | None, date: str | None) -> int:
    from pyiceberg.expressions import EqualTo

    scan = table.scan(row_filter=EqualTo(column, date)) if column else table.scan()
    return scan.to_arrow().num_rows


def observe_silver(catalog, known: dict | None = None) -> tuple[list[SilverPartition], dict]:
    """Partitions of every silver table that changed since `known` (all when None), and the new
    `known` state ({table: {"snapshot": id, "versions": {date: data_version}}}, JSON-able).
    Tables that do not exist yet are left out."""
    from pyiceberg.exceptions import NoSuchTableError

    known = dict(known or {})
    changed: list[SilverPartition] = []
    for name in c.SILVER_TABLES:
        try:
            table = catalog.load_table(name)
        except NoSuchTableError:
            continue
        snapshot = table.current_snapshot()
        before = known.get(name) or {}
        if snapshot is None or before.get("snapshot") == snapshot.snapshot_id:
            continue  # no commit since the last look: nothing can have changed
        parts = read_partitions(table)
        versions = before.get("versions", {})
        changed += [p for p in parts if versions.get(p.date or "") != p.data_version]
        known[name] = {"snapshot": snapshot.snapshot_id,
                       "versions": {p.date or "": p.data_version for p in parts}}
    return changed, known


def report_silver(instance: dg.DagsterInstance, catalog) -> list[SilverPartition]:
    """Report every silver partition to `instance` as observations (no run needed)."""
    parts, _ = observe_silver(catalog)
    for p in parts:
        instance.report_runless_asset_event(p.observation())
    return parts


@dg.sensor(name="silver_observation_sensor", minimum_interval_seconds=SENSOR_INTERVAL_S,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Reports the silver Iceberg tables to Dagster: one observation per changed date "
                       f"partition (rows, data version, last snapshot), read with pyiceberg every "
                       f"{SENSOR_INTERVAL_S // 60} minutes.")
def silver_observation_sensor(context: dg.SensorEvaluationContext):
    from dagster_livy.lakehouse.settings import LakehouseSettings

    known = json.loads(context.cursor) if context.cursor else None
    changed, known = observe_silver(LakehouseSettings.from_env().catalog(), known)
    if not changed:
        return dg.SkipReason("no silver partition changed since the last look")
    return dg.SensorResult(asset_events=[p.observation() for p in changed], cursor=json.dumps(known))


SENSORS = [silver_observation_sensor]


def observable(spec: dg.AssetSpec) -> dg.AssetsDefinition:
    """The silver spec (from assets.py) as an observable source asset, same key, group, metadata and
    partitions. Observable, so Dagster's staleness reads its observations' data versions (for a
    non-observable external asset it assumes a constant version: every gold partition would show
    as unsynced); *Observe* in the UI reports the selected partitions, the sensor all that changed."""
    table = ".".join(spec.key.path)
    with warnings.catch_warnings():  # multi_observable_source_asset is beta; it is what takes a spec as is
        warnings.simplefilter("ignore", dg.BetaWarning)
        return _observable(spec, table)


def _observable(spec: dg.AssetSpec, table: str) -> dg.AssetsDefinition:
    @dg.multi_observable_source_asset(specs=[spec], name=f"observe_{'_'.join(spec.key.path)}",
                                      partitions_def=spec.partitions_def)
    def _observe(context):  # (no annotation: this module uses postponed annotations)
        from dagster_livy.lakehouse.settings import LakehouseSettings

        parts = {p.date: p for p in read_partitions(LakehouseSettings.from_env().catalog().load_table(table))}
        key = context.partition_key if spec.partitions_def else None  # one partition per run
        if key not in parts:
            raise dg.Failure(f"{c.qualified(table)} has no data for {key or 'the table'} "
                             f"({len(parts)} partition(s) observed)")
        obs = parts[key].observation()
        # An ObserveResult, not a logged event: the step's own observation would carry no version.
        return dg.ObserveResult(asset_key=spec.key, metadata=obs.metadata,
                                data_version=dg.DataVersion(parts[key].data_version))

    return _observe


def observable_silver(specs) -> list[dg.AssetsDefinition]:
    return [observable(spec) for spec in specs]
