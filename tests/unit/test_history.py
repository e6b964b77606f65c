"""dagster_livy.history: the Spark History Server link and the stored driver log's place."""

from __future__ import annotations

import dagster as dg
import pytest

from dagster_livy.batches import BatchResult
from dagster_livy.env import history_url
from dagster_livy.history import DriverLogFile, driver_log_path, history_link, reported_app_ids
from dagster_livy.models import LivyState
from dagster_livy.resource import batch_metadata


def test_history_url_follows_its_settings():
    assert history_url({}) == "http://127.0.0.1:18080"
    assert history_url({"SPARK_HISTORY_PORT": "18555"}) == "http://127.0.0.1:18555"
    assert history_url({"SPARK_HISTORY_URL": "https://spark-history.example/", "SPARK_HISTORY_PORT": "1"}) \
        == "https://spark-history.example"
    with pytest.raises(ValueError, match="SPARK_HISTORY_PORT.*'abc'"):
        history_url({"SPARK_HISTORY_PORT": "abc"})


def test_history_link_names_the_application_and_refuses_what_is_not_an_id():
    assert history_link("local-1795849823669", "http://h:1/") == "http://h:1/history/local-1795849823669/jobs/"
    assert history_link("app-20261128071000-0003", "http://h:1").endswith("/history/app-20261128071000-0003/jobs/")
    for bad in ("", "../etc", "a b", "x/y"):
        with pytest.raises(ValueError, match="not a Spark application id"):
            history_link(bad, "http://h:1")


def result(app_id=None, driver_log=None) -> BatchResult:
    return BatchResult(name="b", batch_id=1, state=LivyState.SUCCESS, livy_url="http://livy/batches/b",
                       app_id=app_id, spark_ui_url=None, driver_log_url=None, duration_s=1.0, log_tail=(),
                       driver_log=driver_log)


def test_batch_metadata_links_the_application_livy_or_the_script_names(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARK_HISTORY_URL", "http://hs:18080")
    reported = [dg.MaterializeResult(metadata={"spark_application_id": "local-1"}),
                dg.AssetCheckResult(passed=True, metadata={"spark_application_id": dg.MetadataValue.text("local-1")})]
    assert reported_app_ids(reported) == ["local-1"]
    md = batch_metadata(result(driver_log=str(tmp_path / "x.log")), reported)
    assert md["spark_history_url"] == dg.MetadataValue.url("http://hs:18080/history/local-1/jobs/")
    assert md["driver_log"] == dg.MetadataValue.path(str(tmp_path / "x.log"))
    # Livy's own id (YARN, Kubernetes) comes first; two applications in one batch get no link.
    assert batch_metadata(result(app_id="application_1_2"), reported)["spark_history_url"].value.endswith(
        "/history/application_1_2/jobs/")
    two = reported + [dg.MaterializeResult(metadata={"spark_application_id": "local-2"})]
    assert "spark_history_url" not in batch_metadata(result(), two)
    assert "spark_history_url" not in batch_metadata(result(), []) and "driver_log" not in batch_metadata(result())


def test_driver_log_file_appends_under_the_run(tmp_path):
    path = driver_log_path(tmp_path, "run-1", "gold__x-2025-02-03/../a b")
    assert path.parent == tmp_path / "run-1" / "livy" and "/" not in path.name and " " not in path.name
    f = DriverLogFile(path, header="# first attempt")
    f.write(["stdout: ", "line 1\n"])
    f.close()
    DriverLogFile(path, header="# opened again").close()
    assert path.read_text().splitlines() == ["# first attempt", "stdout: ", "line 1", "# opened again"]


def test_batch_ids_are_text_not_plotted_measurements():
    """Dagster plots every numeric metadata value over time; an id must not become a chart."""
    md = batch_metadata(result())
    assert isinstance(md["livy_batch_id"], dg.TextMetadataValue)
    assert isinstance(md["livy_duration_s"], dg.FloatMetadataValue)  # a measurement: plotted
