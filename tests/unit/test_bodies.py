from __future__ import annotations

import pytest

from dagster_livy.bodies import build_batch_body, build_session_body, build_statement_body
from dagster_livy.naming import MAX_NAME_LEN
from dagster_livy.errors import LivyConfigError, LivyError

ALL_BATCH_KWARGS = dict(
    proxy_user="alice",
    class_name="org.example.Main",
    args=["--date", "2024-01-01"],
    jars=["file:///opt/a.jar"],
    py_files=["file:///opt/lib.zip"],
    files=["file:///opt/conf.json"],
    driver_memory="512m",
    driver_cores=1,
    executor_memory="2g",
    executor_cores=2,
    num_executors=3,
    archives=["file:///opt/env.tar.gz#env"],
    queue="default",
    name="nightly-load-1",
    conf={"spark.log.level": "WARN"},
)


def test_batch_body_all_16_fields_camel_case() -> None:
    body = build_batch_body("file:///work/job.py", **ALL_BATCH_KWARGS)
    assert body == {
        "file": "file:///work/job.py",
        "proxyUser": "alice",
        "className": "org.example.Main",
        "args": ["--date", "2024-01-01"],
        "jars": ["file:///opt/a.jar"],
        "pyFiles": ["file:///opt/lib.zip"],
        "files": ["file:///opt/conf.json"],
        "driverMemory": "512m",
        "driverCores": 1,
        "executorMemory": "2g",
        "executorCores": 2,
        "numExecutors": 3,
        "archives": ["file:///opt/env.tar.gz#env"],
        "queue": "default",
        "name": "nightly-load-1",
        "conf": {"spark.log.level": "WARN"},
    }
    assert len(body) == 16


def test_batch_body_omits_none_and_empty() -> None:
    assert build_batch_body("/x/job.py", args=[], conf={}, jars=None, name=None) == {
        "file": "/x/job.py"
    }


def test_conf_values_are_stringified() -> None:
    body = build_batch_body(
        "/x/job.py", conf={"a": True, "b": False, "c": 4, "d": 0.5, "e": "s"}
    )
    assert body["conf"] == {"a": "true", "b": "false", "c": "4", "d": "0.5", "e": "s"}


def test_args_keep_order_and_tuple_accepted() -> None:
    assert build_batch_body("/x.py", args=("b", "a"))["args"] == ["b", "a"]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"file": ""}, "file"),
        ({"file": None}, "file"),
        ({"driver_memory": "2 GB"}, "driver_memory"),
        ({"executor_memory": "lots"}, "executor_memory"),
        ({"executor_memory": 512}, "executor_memory"),
        ({"driver_cores": 0}, "driver_cores"),
        ({"executor_cores": True}, "executor_cores"),
        ({"num_executors": -1}, "num_executors"),
        ({"num_executors": 1.5}, "num_executors"),
        ({"args": "--date 2024"}, "args"),
        ({"jars": "a.jar"}, "jars"),
        ({"py_files": ["ok.zip", 3]}, "py_files"),
        ({"files": "f.txt"}, "files"),
        ({"archives": "env.tgz"}, "archives"),
        ({"conf": {"k": [1, 2]}}, "conf"),
        ({"conf": {"k": None}}, "conf"),
        ({"conf": "spark.x=1"}, "conf"),
        ({"name": "12345"}, "name"),
        ({"name": "a/b"}, "name"),
        ({"name": "x" * (MAX_NAME_LEN + 1)}, "name"),
        ({"name": "   "}, "name"),
        ({"proxy_user": ""}, "proxy_user"),
        ({"queue": ""}, "queue"),
        ({"class_name": ""}, "class_name"),
    ],
)
def test_batch_validation_names_field(kwargs: dict, field: str) -> None:
    kw = {"file": "/x/job.py", **kwargs}
    file = kw.pop("file")
    with pytest.raises(LivyConfigError) as ei:
        build_batch_body(file, **kw)
    assert field in str(ei.value)
    assert isinstance(ei.value, ValueError) and isinstance(ei.value, LivyError)


def test_memory_sizes_accepted() -> None:
    for size in ("512", "512k", "512m", "2g", "1T", "4G"):
        assert build_batch_body("/x.py", driver_memory=size)["driverMemory"] == size


def test_name_limits_accepted() -> None:
    assert build_batch_body("/x.py", name="x" * MAX_NAME_LEN)["name"] == "x" * MAX_NAME_LEN
    assert build_batch_body("/x.py", name="run-42")["name"] == "run-42"


def test_session_body_fields() -> None:
    body = build_session_body(
        "pyspark",
        proxy_user="bob",
        jars=["a.jar"],
        py_files=["p.zip"],
        files=["f"],
        archives=["env.tgz"],
        driver_memory="1g",
        driver_cores=1,
        executor_memory="1g",
        executor_cores=1,
        num_executors=2,
        queue="q",
        name="nb-1",
        heartbeat_timeout_s=60,
        ttl="1h",
        idle_timeout="10m",
        conf={"spark.x": 1},
    )
    assert body == {
        "kind": "pyspark",
        "proxyUser": "bob",
        "jars": ["a.jar"],
        "pyFiles": ["p.zip"],
        "files": ["f"],
        "archives": ["env.tgz"],
        "driverMemory": "1g",
        "driverCores": 1,
        "executorMemory": "1g",
        "executorCores": 1,
        "numExecutors": 2,
        "queue": "q",
        "name": "nb-1",
        "heartbeatTimeoutInSecond": 60,
        "ttl": "1h",
        "idleTimeout": "10m",
        "conf": {"spark.x": "1"},
    }
    assert build_session_body() == {"kind": "pyspark"}


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"kind": "python"}, "kind"),
        ({"name": "007"}, "name"),
        ({"heartbeat_timeout_s": 0}, "heartbeat_timeout_s"),
        ({"ttl": "soon"}, "ttl"),
        ({"idle_timeout": 10}, "idle_timeout"),
        ({"jars": "a.jar"}, "jars"),
    ],
)
def test_session_validation_names_field(kwargs: dict, field: str) -> None:
    with pytest.raises(LivyConfigError) as ei:
        build_session_body(**kwargs)
    assert field in str(ei.value)


def test_statement_body() -> None:
    assert build_statement_body("1 + 1") == {"code": "1 + 1"}
    assert build_statement_body("select 1", kind="sql") == {"code": "select 1", "kind": "sql"}
    with pytest.raises(LivyConfigError, match="code"):
        build_statement_body("  ")
    with pytest.raises(LivyConfigError, match="kind"):
        build_statement_body("x", kind="shared")
