"""The resource and the lakehouse settings take their defaults from dagster_livy.env (one home)."""

from __future__ import annotations

from pathlib import Path

from dagster_livy import env
from dagster_livy.lakehouse.settings import LakehouseSettings
from dagster_livy.resource import LivyResource


def test_a_bare_livy_resource_follows_livy_port(monkeypatch):
    monkeypatch.delenv("LIVY_URL", raising=False)
    monkeypatch.delenv("LIVY_HOST", raising=False)
    monkeypatch.setenv("LIVY_PORT", "18998")
    assert LivyResource().url == "http://127.0.0.1:18998"
    monkeypatch.setenv("LIVY_URL", "http://livy.example:8999/")
    assert LivyResource().url == "http://livy.example:8999"
    assert LivyResource(url="http://other:1").url == "http://other:1"
    print("LivyResource() default: LIVY_PORT and LIVY_URL followed, an explicit url kept")


def test_lakehouse_staging_dir_is_envs(tmp_path):
    cases = [{}, {"LIVY_LOCAL_DIR": str(tmp_path / "l")}, {"LIVY_RUN_DIR": str(tmp_path / "r"), "LIVY_LOCAL_DIR": "x"},
             {"LIVY_STAGING_DIR": str(tmp_path / "s")}, {"LIVY_STAGING_DIR": "", "LIVY_RUN_DIR": str(tmp_path / "r")}]
    for e in cases:
        assert LakehouseSettings.from_env(e).staging_dir == env.staging_dir(e), e
    assert LakehouseSettings.from_env(cases[-1]).staging_dir == Path(tmp_path / "r" / "staging")
    print(f"{len(cases)} environments: the lakehouse staging dir is env.staging_dir's")
