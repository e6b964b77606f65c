from __future__ import annotations

import pytest

from dagster_livy.redact import redact_conf, redact_text


@pytest.mark.parametrize(
    "key",
    [
        "spark.hadoop.fs.s3a.secret.key",
        "spark.hadoop.fs.s3a.access.key",
        "fs.s3a.accesskey",
        "AWS_ACCESS_KEY_ID",
        "spark.ssl.keyStorePassword",
        "db.passwd",
        "spark.hadoop.fs.azure.sas.container.account.blob.core.windows.net",
        "hive.metastore.token",
        "spark.hadoop.google.cloud.auth.service.account.credential",
        "gcs.private.key",
        "gcs.private_key_id",
    ],
)
def test_secret_keys_redacted(key: str) -> None:
    assert redact_conf({key: "hunter2"}) == {key: "***"}


@pytest.mark.parametrize(
    "key",
    ["spark.executor.memory", "spark.hadoop.hive.metastore.sasl.enabled", "spark.app.name",
     "spark.sql.shuffle.partitions"],
)
def test_plain_keys_kept(key: str) -> None:
    assert redact_conf({key: "v"}) == {key: "v"}


def test_redact_conf_is_a_copy() -> None:
    conf = {"fs.s3a.secret.key": "s", "a": "b"}
    out = redact_conf(conf)
    assert out == {"fs.s3a.secret.key": "***", "a": "b"}
    assert conf["fs.s3a.secret.key"] == "s"


def test_redact_text() -> None:
    text = "url=http://u:pa55@h token=abc123 again abc123"
    assert redact_text(text, ["abc123", "pa55", ""]) == "url=http://u:***@h token=*** again ***"


def test_redact_text_longest_first() -> None:
    assert redact_text("key=abcdef", ["abc", "abcdef"]) == "key=***"
