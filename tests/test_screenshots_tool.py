"""`make screenshots` on an instance `make demo` never wrote says what to do, instead of empty images."""

import importlib.util
from pathlib import Path

import dagster as dg
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "screenshots.py"


def load():
    spec = importlib.util.spec_from_file_location("docs_screenshots", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_screenshots_refuse_an_instance_without_the_demo(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        with pytest.raises(SystemExit) as exc:
            load().subjects(instance)
    assert "make demo" in str(exc.value) and "gold/daily_sales_summary" in str(exc.value)


def test_screenshots_pick_the_newest_gold_partition_and_job_run(tmp_path):
    shots = load()
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        for day in ("2026-03-02", "2026-03-04", "2026-03-03"):
            instance.report_runless_asset_event(dg.AssetMaterialization(shots.GOLD, partition=day))
        run = instance.create_run_for_job(
            dg.define_asset_job(shots.JOB).resolve(asset_graph=dg.Definitions(
                assets=[dg.AssetSpec("x")]).resolve_asset_graph()),
            status=dg.DagsterRunStatus.SUCCESS)
        assert shots.subjects(instance) == ("2026-03-04", run.run_id)
