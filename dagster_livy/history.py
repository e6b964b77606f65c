"""What outlives a Livy batch, for Dagster metadata: its Spark History Server page and its stored
driver log.

A Livy batch is deleted when it ends (and Livy may be stopped), so `livy_batch_url` dies with it.
What stays:

- the **Spark UI** of the application, from the event log every driver writes (livy/conf/
  spark-defaults.conf.template) and the Spark History Server serves (`make up`; its URL:
  `dagster_livy.env.history_url`). The application id comes from Livy where it knows one
  (YARN, Kubernetes), else from the script itself: the lakehouse scripts report
  `spark_application_id` through Pipes (in local mode Livy reports none).
- the **driver log**: every line the runner streamed, written under the Dagster instance's
  storage (`<storage>/<run id>/livy/<asset>--<partition>[--attempt<n>].log`), kept after the batch and the stack are gone.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from dagster_livy.env import history_url

APP_ID_KEY = "spark_application_id"  # what the scripts report (spark_scripts/lakehouse_jobs/cli.py)
# Spark application ids are safe path segments: local-<ms>, app-<time>-<n>, application_<ts>_<n>.
_APP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def history_link(app_id: str, base: str | None = None) -> str:
    """The jobs page of application `app_id` in the Spark History Server."""
    if not _APP_ID.match(app_id):
        raise ValueError(f"not a Spark application id: {app_id!r}")
    return f"{(base or history_url()).rstrip('/')}/history/{app_id}/jobs/"


def reported_app_ids(results: Iterable[Any]) -> list[str]:
    """The Spark application ids the script reported in its materializations and checks
    (`spark_application_id` metadata), in order, without duplicates."""
    seen: list[str] = []
    for result in results:
        value = (getattr(result, "metadata", None) or {}).get(APP_ID_KEY)
        value = getattr(value, "value", value)  # a MetadataValue or a raw string
        if isinstance(value, str) and _APP_ID.match(value) and value not in seen:
            seen.append(value)
    return seen


def history_metadata(app_ids: Iterable[str | None]) -> dict[str, Any]:
    """`spark_history_url` when the batch ran exactly one Spark application; nothing when none
    is known (Livy in local mode, and a script that reports no id)."""
    import dagster as dg

    ids = [a for a in dict.fromkeys(app_ids) if a and _APP_ID.match(a)]
    if len(ids) != 1:  # several applications in one batch: no single link is right
        return {}
    return {"spark_history_url": dg.MetadataValue.url(history_link(ids[0]))}


def driver_log_path(storage_dir: str | Path, run_id: str, stem: str) -> Path:
    """Where a batch's driver log is kept: <instance storage>/<run id>/livy/<stem>.log (beside
    Dagster's own per-run compute logs); `stem` names the step's work, e.g. its asset and partition."""
    safe = re.sub(r"[^A-Za-z0-9_.=-]", "_", stem)
    return Path(storage_dir) / run_id / "livy" / f"{safe}.log"


class DriverLogFile:
    """Appends the driver-log lines of one batch to its file as they stream in (secrets redacted
    by the caller). Appending: a file opened again (same step and attempt) keeps what it has."""

    def __init__(self, path: Path, header: str) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")
        self.write([header])

    def write(self, lines: Iterable[str]) -> None:
        for line in lines:
            self._file.write(line.rstrip("\n") + "\n")
        self._file.flush()  # readable while the batch runs, and whatever way the step ends

    def close(self) -> None:
        self._file.close()
