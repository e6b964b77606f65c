"""Spark progress reaches the Dagster log while the batch runs (issue 12, "silence while Spark
works"), and the step's human-facing lines carry no Pipes bootstrap and no full batch name.

The driver script (tests/livy_scripts/progress_job.py) runs its jobs under
lakehouse_jobs.progress.report_progress; its last stage cannot finish until this test has seen a
progress line of that very stage in the Dagster event log, so a progress line delivered only at
the batch's end fails the test instead of passing it.
"""

import re
import threading

import dagster as dg
import pytest

from dagster_livy import LivyResource, PipesLivyClient
from dagster_livy.lakehouse.packaging import package_zip
from tests.conftest import REPO

pytestmark = pytest.mark.integration
SCRIPTS = REPO / "tests" / "livy_scripts"
PARTITION = "2026-10-30"
# The held stage has 5 tasks (the first job's stages have 3): a line about it while it is held.
HELD_STAGE_LINE = re.compile(r"Spark job \d+ stage \d+ \([^)]*\): [0-4]/5 tasks done, [1-9]\d* running")
PROGRESS_LINE = re.compile(r"^Spark job \d+ (stage \d+|succeeded)", re.M)
LONG_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{100,}")  # a base64 Pipes bootstrap would be one


def watch_and_release(instance: dg.DagsterInstance, release, stop: threading.Event, seen: list) -> None:
    """Create `release` once the event log holds a progress line of the held stage."""
    while not stop.is_set():
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id):
                if HELD_STAGE_LINE.search(entry.user_message or ""):
                    seen.append(entry)
                    release.write_text("go")
                    return
        stop.wait(0.2)


def test_spark_progress_is_logged_while_the_batch_runs(livy_stack, tmp_path):
    staged = livy_stack.stage(SCRIPTS / "progress_job.py")
    py_files = [package_zip(livy_stack.staging_dir).as_uri()]
    release = tmp_path / "release"

    @dg.asset(key=["gold", "progress_probe"], partitions_def=dg.StaticPartitionsDefinition([PARTITION]))
    def progress_probe(context: dg.AssetExecutionContext, pipes_livy: PipesLivyClient):
        return pipes_livy.run(context=context, file=staged, py_files=py_files,
                              extras={"release_file": str(release), "hold_s": 150}).get_materialize_result()

    livy = LivyResource(url=livy_stack.url)
    instance = dg.DagsterInstance.local_temp(tempdir=str(tmp_path))
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=watch_and_release, args=(instance, release, stop, seen), daemon=True)
    watcher.start()
    try:
        result = dg.materialize([progress_probe], partition_key=PARTITION, instance=instance,
                                resources={"pipes_livy": PipesLivyClient(livy=livy)}, raise_on_error=False)
    finally:
        stop.set()
        watcher.join(timeout=30)
    entries = instance.all_logs(result.run_id)
    text = "\n".join(e.user_message or "" for e in entries)
    assert result.success, text[-4000:]
    assert seen, "no progress line of the held stage reached the event log while the batch ran"
    mat = result.asset_materializations_for_node("gold__progress_probe")[0]
    assert mat.metadata["held_sum"].value == 0 + 1 + 2 + 3 + 4 and mat.metadata["keys"].value == 5

    # Event-log order: submitted < the progress line that released the held task < the batch's end.
    def first(pattern: str):
        return next(e for e in entries if re.search(pattern, e.user_message or ""))

    submitted, ended = first(r"^Submitted Livy batch \d+ "), first(r"^Livy batch \d+ \(.*\) success in ")
    released_by = seen[0]
    assert submitted.timestamp <= released_by.timestamp <= ended.timestamp
    progress = [e for e in entries if PROGRESS_LINE.search(e.user_message or "")]
    during = [e for e in progress if submitted.timestamp <= e.timestamp <= ended.timestamp]
    assert len(during) == len(progress) >= 2 and re.search(r"Spark job \d+ succeeded", text)
    print("\n" + "\n".join(f"{e.timestamp - submitted.timestamp:6.1f}s {e.user_message}" for e in progress))

    # Human-facing lines: no Pipes bootstrap, no full batch name; the full name only at debug.
    name = mat.metadata["livy_batch_name"].value
    human = [e.user_message or "" for e in entries if e.level >= 20]  # logging.INFO
    assert not [m for m in human if LONG_TOKEN.search(m) or "--dagster-pipes-context" in m]
    assert not [m for m in human if name in m], [m for m in human if name in m]
    assert f"Submitted Livy batch {name}" in text  # at debug level
    assert any(m.startswith(f"Submitted Livy batch {mat.metadata['livy_batch_id'].value} "
                            f"(gold/progress_probe {PARTITION})") for m in human)
    assert "(+ 2 Dagster Pipes bootstrap arguments)" in text
