"""Where things are found, from this checkout (the installed-wheel side: test_distribution.py):
local state follows the working directory or the environment, never the package's location;
the scripts, notebooks and lakehouse_jobs are the checkout's own."""

from __future__ import annotations

from pathlib import Path

from dagster_livy import env
from dagster_livy.lakehouse import packaging, settings
from tests.conftest import REPO


def test_local_state_defaults_follow_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert env.lakehouse_dir({}) == tmp_path / ".lakehouse"
    assert env.local_dir({}) == tmp_path / ".livy"
    assert env.staging_dir({}) == tmp_path / ".livy" / "staging"
    s = settings.LakehouseSettings.from_env({})
    assert (s.lakehouse_dir, s.staging_dir) == (tmp_path / ".lakehouse", tmp_path / ".livy" / "staging")
    assert s.start_date == "2025-01-01"


def test_environment_overrides_every_local_state_dir(tmp_path):
    e = {"LAKEHOUSE_DIR": str(tmp_path / "lh"), "LIVY_LOCAL_DIR": str(tmp_path / "home"),
         "LAKEHOUSE_START_DATE": "2024-06-01"}
    s = settings.LakehouseSettings.from_env(e)
    assert (s.lakehouse_dir, s.staging_dir, s.start_date) == (
        tmp_path / "lh", tmp_path / "home" / "staging", "2024-06-01")
    assert env.run_dir({**e, "LIVY_RUN_DIR": str(tmp_path / "run")}) == tmp_path / "run"
    assert env.staging_dir({**e, "LIVY_STAGING_DIR": "/srv/staging"}) == Path("/srv/staging")


def test_a_checkout_uses_its_own_scripts_notebooks_and_jobs_package():
    assert settings.SCRIPTS_DIR == REPO / "spark_scripts"
    assert settings.NOTEBOOKS_DIR == REPO / "notebooks"
    assert packaging.PACKAGE_DIR == REPO / "spark_scripts" / "lakehouse_jobs"
    assert settings.LakehouseSettings.from_env({}).script("generate_silver.py") == \
        (REPO / "spark_scripts" / "generate_silver.py").as_uri()
