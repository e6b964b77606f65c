"""livy/livyctl.py's pure checks: the Scala-mix guard and config rendering."""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

from tests.conftest import LIVYCTL

spec = importlib.util.spec_from_file_location("livyctl", LIVYCTL)
livyctl = importlib.util.module_from_spec(spec)
sys.modules["livyctl"] = livyctl
spec.loader.exec_module(livyctl)


def make_jars(tmp_path, names):
    for n in names:
        (tmp_path / n).write_bytes(b"")
    return tmp_path


def test_single_scala_version_is_accepted(tmp_path):
    jars = make_jars(tmp_path, ["livy-server-0.9.0-incubating.jar", "livy-core_2.12-0.9.0-incubating.jar",
                                "scala-library-2.12.18.jar", "json4s-ast_2.12-3.7.0-M11.jar"])
    assert livyctl.check_server_classpath(jars) == "2.12"


def test_scala_211_beside_a_212_server_is_refused(tmp_path):
    # The trap of the published POMs: ${scala.binary.version} defaults to 2.11.
    jars = make_jars(tmp_path, ["livy-server-0.9.0-incubating.jar", "livy-core_2.12-0.9.0-incubating.jar",
                                "scala-library-2.12.18.jar", "scalatra_2.11-2.6.5.jar"])
    with pytest.raises(SystemExit, match=r"mixes Scala binary versions \['2.11', '2.12'\].*scalatra_2.11"):
        livyctl.check_server_classpath(jars)


def test_missing_server_jar_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no livy-server jar"):
        livyctl.check_server_classpath(make_jars(tmp_path, ["scala-library-2.12.18.jar"]))


def test_resolved_server_classpath_is_consistent():
    jars = livyctl.REPO / ".livy" / "jars"
    if not jars.is_dir():
        pytest.skip("jars not resolved (make jars)")
    assert livyctl.check_server_classpath(jars) in ("2.11", "2.12")


def test_rendered_conf_binds_loopback_and_whitelists_only_scripts_and_staging(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVY_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("LAKEHOUSE_DIR", str(tmp_path / "lh"))
    monkeypatch.setenv("LIVY_PORT", "18998")
    layout = livyctl.Layout.from_env()
    if not any(layout.spark_jars_dir.glob("*.jar")):
        pytest.skip("jars not resolved (make jars)")
    livyctl.cmd_conf(layout)
    conf = dict(
        line.split("=", 1) for line in (layout.conf_dir / "livy.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    conf = {k.strip(): v.strip() for k, v in conf.items()}
    assert conf["livy.server.host"] == "127.0.0.1"
    assert conf["livy.server.port"] == "18998"
    assert conf["livy.server.csrf-protection.enabled"] == "true"
    assert conf["livy.file.local-dir-whitelist"].split(",") == [
        str(livyctl.REPO / "spark_scripts"), str(tmp_path / "run" / "staging")]
    assert int(conf["livy.cache-log.size"]) >= 1000
    spark = (layout.spark_conf_dir / "spark-defaults.conf").read_text()
    assert f"jdbc:sqlite:{tmp_path / 'lh'}/catalog.db" in spark
    assert "iceberg-spark-runtime-3.5_2.12" in spark
    # Every driver keeps its Spark UI as an event log, in the dir the History Server reads.
    assert "spark.eventLog.enabled                       true" in spark
    assert f"spark.eventLog.dir                           file://{tmp_path / 'run' / 'spark-events'}" in spark
    assert (tmp_path / "run" / "spark-events").is_dir()  # Spark refuses to start without it


def test_check_and_status_refuse_this_checkouts_server_when_it_runs_another_setup(tmp_path, monkeypatch):
    # `make up` (local mode, SQLite) then `make demo CLUSTER=1`: the running server's rendered conf
    # is compared with what the environment asks, on the path `up`, `check` and `status` share.
    monkeypatch.setenv("LIVY_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("LAKEHOUSE_DIR", str(tmp_path / "lh"))
    for k in ("ICEBERG_DB_HOST", "LIVY_SPARK_MASTER"):
        monkeypatch.delenv(k, raising=False)
    layout = livyctl.Layout.from_env()
    layout.conf_dir.mkdir(parents=True)
    layout.spark_conf_dir.mkdir(parents=True)
    (layout.conf_dir / "livy.conf").write_text("livy.spark.master = local[*]\n")
    (layout.spark_conf_dir / "spark-defaults.conf").write_text(
        f"spark.sql.catalog.lakehouse.uri                jdbc:sqlite:{tmp_path / 'lh'}/catalog.db\n")
    running = livyctl.running_setup(layout)
    assert livyctl.setup_mismatch(running, livyctl.wanted_setup(layout), 123) is None

    monkeypatch.setenv("LIVY_SPARK_MASTER", "spark://127.0.0.1:7077")
    for k, v in {"ICEBERG_DB_HOST": "127.0.0.1", "ICEBERG_DB_PORT": "5433", "ICEBERG_DB": "iceberg",
                 "ICEBERG_DB_USER": "iceberg", "ICEBERG_DB_PASSWORD": "pw"}.items():
        monkeypatch.setenv(k, v)
    cluster = livyctl.Layout.from_env()
    message = livyctl.setup_mismatch(running, livyctl.wanted_setup(cluster), 123)
    assert message is not None
    assert "pid 123" in message and "local[*]" in message and "catalog.db" in message  # what runs
    assert "spark://127.0.0.1:7077" in message and "jdbc:postgresql://127.0.0.1:5433/iceberg" in message
    assert "make down" in message
    # The reverse (cluster server running, local setup asked) is refused the same way.
    assert livyctl.setup_mismatch(livyctl.wanted_setup(cluster), running, 123) is not None


def test_password_files_are_private_from_creation(tmp_path):
    stackproc = sys.modules["stackproc"]
    old = tmp_path / "spark-defaults.conf"
    old.write_text("old\n")
    old.chmod(0o644)
    stackproc.write_private(old, "secret\n")
    assert old.read_text() == "secret\n" and old.stat().st_mode & 0o777 == 0o600
    new = tmp_path / ".initpw"
    stackproc.write_private(new, "pw\n")
    assert new.stat().st_mode & 0o777 == 0o600


def fake_java(home, version: str):
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2024-01-16' >&2\n")
    java.chmod(0o755)
    return java


def test_one_java_checked_and_used_java_home_first(tmp_path, monkeypatch):
    # PATH offers Java 11, JAVA_HOME a Java 17: the one checked is the one started (issue 11).
    path_java = fake_java(tmp_path / "old", "11.0.22")
    home_java = fake_java(tmp_path / "jdk17", "17.0.10")
    monkeypatch.setenv("PATH", f"{path_java.parent}:/usr/bin:/bin")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk17"))
    assert livyctl.java_binary() == str(home_java)
    assert livyctl.java_home(str(home_java)) == str(tmp_path / "jdk17")
    monkeypatch.delenv("JAVA_HOME")
    with pytest.raises(SystemExit, match=f"Java 11 found at {path_java}"):
        livyctl.java_binary()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(SystemExit, match="JAVA_HOME=.*nowhere has no bin/java"):
        livyctl.java_binary()


def test_history_up_refuses_a_port_someone_else_holds(tmp_path):
    import socket

    from tests.conftest import run_livyctl

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        proc = run_livyctl({"LIVY_RUN_DIR": str(tmp_path / "run"), "SPARK_HISTORY_PORT": str(port)},
                           "history", "up", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"port {port} on 127.0.0.1 (SPARK_HISTORY_PORT) is already in use by pid {os.getpid()}" in proc.stderr
    assert not (tmp_path / "run" / "history").exists(), "nothing may be started or rendered"


def test_spark_jvm_options_reach_every_driver_and_executor_only_when_set():
    from livyconf import jvm_options_conf  # livyctl puts livy/ on sys.path

    conf = jvm_options_conf({"SPARK_JVM_OPTIONS": " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "})
    lines = dict(line.split(None, 1) for line in conf.splitlines())
    assert lines == {"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
                     "spark.executor.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}
    assert jvm_options_conf({}).startswith("#") and jvm_options_conf({"SPARK_JVM_OPTIONS": "  "}).startswith("#")


def test_cds_archive_is_rendered_only_when_built_for_this_jdk_and_these_jars(tmp_path, monkeypatch):
    import livyconf

    local, spark_home = tmp_path / "livy", tmp_path / "pyspark"
    for d in (local / "spark-jars", spark_home / "jars"):
        d.mkdir(parents=True)
    jar = make_jars(local / "spark-jars", ["iceberg.jar"]) / "iceberg.jar"
    make_jars(spark_home / "jars", ["spark-core.jar"])
    monkeypatch.setenv("LIVY_LOCAL_DIR", str(local))
    monkeypatch.delenv("SPARK_CDS", raising=False)
    layout = livyctl.Layout.from_env()
    monkeypatch.setattr(livyctl.Layout, "spark_home", lambda self: str(spark_home))
    assert livyconf.cds_settings(layout) is None  # nothing built: nothing rendered, no warning
    archive = livyconf.cds_archive(layout, str(spark_home))
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"built")
    flag, classpath = livyconf.cds_settings(layout)
    assert flag == f"-XX:SharedArchiveFile={archive}"
    # the jars first (the JVM maps no archive past a non-empty directory such as SPARK_CONF_DIR)
    assert classpath == f"{jar}:{spark_home}/jars/*"
    conf = dict(line.split(None, 1) for line in livyconf.jvm_options_conf({"SPARK_JVM_OPTIONS": "-Xss4m"},
                                                                          (flag, classpath)).splitlines())
    assert conf == {"spark.driver.extraJavaOptions": f"-Xss4m {flag}", "spark.executor.extraJavaOptions": "-Xss4m",
                    "spark.driver.extraClassPath": classpath}
    assert livyconf.cds_settings(layout, {"SPARK_CDS": "off"}) is None
    with pytest.raises(SystemExit, match="SPARK_CDS must be auto .* got 'yes'"):
        livyconf.cds_settings(layout, {"SPARK_CDS": "yes"})
    # A changed jar (or JDK) names another archive: the stale one is never rendered.
    os.utime(jar, ns=(1, 1))
    assert livyconf.cds_archive(layout, str(spark_home)) != archive
    assert livyconf.cds_settings(layout) is None


def test_livy_is_started_with_sigterm_at_its_default_even_when_the_caller_ignores_it():
    """Livy stops a batch by SIGTERM to its spark-submit; an ignored SIGTERM would be inherited by
    Livy and by every spark-submit, and a DELETE would hang. The control shows the inheritance."""
    import signal
    import subprocess

    def sigign(preexec):
        old = signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            out = subprocess.run(["cat", "/proc/self/status"], capture_output=True, text=True, check=True,
                                 preexec_fn=preexec).stdout
        finally:
            signal.signal(signal.SIGTERM, old)
        mask = int(next(line for line in out.splitlines() if line.startswith("SigIgn:")).split()[1], 16)
        return bool(mask & (1 << (signal.SIGTERM - 1)))

    assert sigign(None) is True  # control: without the reset the child ignores SIGTERM too
    assert sigign(livyctl.reset_stop_signal) is False
