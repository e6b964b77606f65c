"""Fixtures for the Spark tests: one local SparkSession (Iceberg + SQLite JDBC catalog in a tmp
dir, never /work/main/.lakehouse), generated silver shared by the session, scratch catalogs."""

import itertools
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dagster_livy.lakehouse.testing import open_catalog

os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # before pyspark starts a JVM: loopback only

REPO = Path(__file__).resolve().parents[2]
SPARK_SCRIPTS = REPO / "spark_scripts"
# Where `make jars` (livy/livyctl.py jars, run from the checkout) puts the Spark-side jars.
SPARK_JARS = Path(os.environ.get("LIVY_LOCAL_DIR") or REPO / ".livy") / "spark-jars"
# The template Livy renders (the jdbc.* lines have no placeholders): present on a fresh clone.
SPARK_CONF_TEMPLATE = REPO / "livy" / "conf" / "spark-defaults.conf.template"


def pom_version(prop: str) -> str:
    """A version property of livy/pom.xml, the one list of the jars' versions."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(REPO / "livy" / "pom.xml").getroot().find(f"m:properties/m:{prop}", ns)
    assert node is not None and node.text, f"livy/pom.xml has no <{prop}>"
    return node.text.strip()


JARS = [SPARK_JARS / f"iceberg-spark-runtime-3.5_2.12-{pom_version('iceberg.version')}.jar",
        SPARK_JARS / f"sqlite-jdbc-{pom_version('sqlite-jdbc.version')}.jar"]
sys.path.insert(0, str(SPARK_SCRIPTS))  # lakehouse_jobs, as spark-submit of a script there sees it

CATALOG = "lakehouse"
SILVER_START, SILVER_END = "2024-01-01", "2024-01-03"
PAGE_VIEWS_PER_DAY, SEED, DIRTY_SHARE = 2_000, 11, 0.05


def catalog_jdbc_properties() -> dict[str, str]:
    """`jdbc.*` driver properties of the production catalog (e.g. SQLite journal mode), so the
    tests run the catalog the way Livy batches do; schema-version V1 at least."""
    props = {"jdbc.schema-version": "V1"}
    conf = SPARK_CONF_TEMPLATE
    if conf.exists():
        prefix = f"spark.sql.catalog.{CATALOG}.jdbc."
        for line in conf.read_text().splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0].startswith(prefix):
                props["jdbc." + parts[0][len(prefix):]] = parts[1].strip()
    return props


def catalog_conf(name: str, directory: Path) -> dict[str, str]:
    conf = {
        f"spark.sql.catalog.{name}": "org.apache.iceberg.spark.SparkCatalog",
        f"spark.sql.catalog.{name}.type": "jdbc",
        f"spark.sql.catalog.{name}.uri": f"jdbc:sqlite:{directory}/catalog.db",
        f"spark.sql.catalog.{name}.warehouse": f"file://{directory}/warehouse",
    }
    conf.update({f"spark.sql.catalog.{name}.{k}": v for k, v in catalog_jdbc_properties().items()})
    return conf


def pyiceberg_catalog(name: str, directory: Path):
    # The catalog name must match Spark's: the JDBC catalog keys its rows by catalog_name.
    return open_catalog(directory, name=name, env={})


@pytest.fixture(scope="session")
def lakehouse_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lakehouse")


@pytest.fixture(scope="session")
def spark(lakehouse_dir):
    from pyspark.sql import SparkSession

    missing = [str(j) for j in JARS if not j.exists()]
    if missing:
        pytest.fail(f"Spark jars missing: {missing} (fetch them with the stack's jar step)")
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("lakehouse-spark-tests")
        .config("spark.jars", ",".join(map(str, JARS)))
        .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        .config("spark.sql.defaultCatalog", CATALOG)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.extraJavaOptions", os.environ.get("SPARK_JVM_OPTIONS", ""))
    )
    for key, value in catalog_conf(CATALOG, lakehouse_dir).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def catalog(lakehouse_dir):
    """pyiceberg view of the session's `lakehouse` catalog."""
    return pyiceberg_catalog(CATALOG, lakehouse_dir)


@pytest.fixture(scope="session")
def silver(spark):
    """Dirty synthetic silver for SILVER_START..SILVER_END in the session's catalog."""
    import datetime as dt

    from lakehouse_jobs.silver import generate_silver

    start, end = dt.date.fromisoformat(SILVER_START), dt.date.fromisoformat(SILVER_END)
    snapshots = generate_silver(spark, start, end, PAGE_VIEWS_PER_DAY, SEED, DIRTY_SHARE)
    return {"start": start, "end": end, "snapshots": snapshots}


_scratch_ids = itertools.count()


@pytest.fixture
def scratch(spark, tmp_path):
    """A fresh, empty Iceberg catalog registered at runtime: (name, directory, pyiceberg catalog).

    Each test that needs its own silver (hand-built rows, other seeds) gets one, so it cannot
    disturb the session's `lakehouse` catalog.
    """
    name = f"scratch{next(_scratch_ids)}"
    directory = tmp_path / name
    directory.mkdir()
    for key, value in catalog_conf(name, directory).items():
        spark.conf.set(key, value)
    return name, directory, pyiceberg_catalog(name, directory)


@pytest.fixture(autouse=True)
def fresh_pipes_context():
    """dagster_pipes keeps a process-wide context singleton; give each test a clean slate."""
    from dagster_pipes import PipesContext

    PipesContext._instance = None
    yield
    PipesContext._instance = None


@pytest.fixture
def pipes(monkeypatch, tmp_path):
    """Run a callable as if launched by Dagster Pipes; returns (result, messages).

    The context goes in as --dagster-pipes-context/--dagster-pipes-messages in sys.argv, exactly
    as the Livy Pipes client passes them; messages are written to a file and parsed back.
    """
    import json

    from dagster_pipes import encode_param

    def run(fn, asset_keys=("gold/asset",), partition_range=None):
        messages = tmp_path / f"pipes-messages-{next(_scratch_ids)}.jsonl"
        context = {
            "asset_keys": list(asset_keys), "code_version_by_asset_key": None,
            "provenance_by_asset_key": None,
            "partition_key": partition_range[0] if partition_range and partition_range[0] == partition_range[1] else None,
            "partition_key_range": {"start": partition_range[0], "end": partition_range[1]} if partition_range else None,
            "partition_time_window": None, "run_id": "test-run", "job_name": None,
            "retry_number": 0, "extras": {},
        }
        argv = ["script.py", "--dagster-pipes-context", encode_param({"data": context}),
                "--dagster-pipes-messages", encode_param({"path": str(messages)})]
        monkeypatch.setattr(sys, "argv", argv)
        result = fn()
        parsed = [json.loads(line) for line in messages.read_text().splitlines() if line.strip()]
        return result, parsed

    return run
