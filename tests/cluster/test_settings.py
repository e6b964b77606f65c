"""The SQLite/PostgreSQL switch, without a cluster: one list of settings decides Spark's catalog
conf, pyiceberg's catalog and the Dagster instance (storage, `livy` pool limit)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from dagster_livy.env import catalog_properties
from tests.conftest import REPO

PG = {"ICEBERG_DB_HOST": "127.0.0.1", "ICEBERG_DB_PORT": "5433", "ICEBERG_DB": "iceberg",
      "ICEBERG_DB_USER": "iceberg", "ICEBERG_DB_PASSWORD": "p/w:d"}


def load(name: str):
    sys.path.insert(0, str(REPO / "livy"))
    spec = importlib.util.spec_from_file_location(f"_cluster_test_{name}", REPO / "livy" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class FakeLayout:
    lakehouse_dir = Path("/lh")


def test_catalog_is_sqlite_without_iceberg_db_host_and_postgres_with_it():
    assert catalog_properties("/lh", {}) == {"uri": "sqlite:////lh/catalog.db", "warehouse": "file:///lh/warehouse"}
    props = catalog_properties("/lh", PG)
    # The password is URL-quoted: SQLAlchemy must not read its ':' or '/' as URL syntax.
    assert props["uri"] == "postgresql+psycopg2://iceberg:p%2Fw%3Ad@127.0.0.1:5433/iceberg"
    livyconf = load("livyconf")
    spark = livyconf.catalog_values(FakeLayout(), PG)
    assert spark["LAKEHOUSE_CATALOG_JDBC_URI"] == "jdbc:postgresql://127.0.0.1:5433/iceberg"
    assert "jdbc.password p/w:d" in spark["LAKEHOUSE_CATALOG_AUTH_CONF"]
    assert livyconf.catalog_values(FakeLayout(), {})["LAKEHOUSE_CATALOG_JDBC_URI"] == "jdbc:sqlite:/lh/catalog.db"


def test_incomplete_postgres_settings_name_what_is_missing():
    partial = {k: v for k, v in PG.items() if k != "ICEBERG_DB_PASSWORD"}
    with pytest.raises(ValueError, match="ICEBERG_DB_PASSWORD"):
        catalog_properties("/lh", partial)
    with pytest.raises(SystemExit, match="ICEBERG_DB_PASSWORD"):
        load("livyconf").catalog_values(FakeLayout(), partial)


def test_pool_limit_follows_the_catalog():
    clusterctl = load("clusterctl")
    sqlite = yaml.safe_load(clusterctl.dagster_yaml({}))
    assert sqlite["concurrency"]["pools"]["default_limit"] == 1 and "storage" not in sqlite
    pg = yaml.safe_load(clusterctl.dagster_yaml(PG))
    assert pg["concurrency"]["pools"]["default_limit"] == 3
    assert pg["storage"]["postgres"]["postgres_db"]["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    assert yaml.safe_load(clusterctl.dagster_yaml({**PG, "LIVY_POOL_LIMIT": "5"}))["concurrency"]["pools"][
        "default_limit"] == 5
