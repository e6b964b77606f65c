"""Secrets never reach logs ("holds today" in issue 7), on the real Livy.

A secret Spark conf value and the resource's password must not appear in the Dagster event log nor
in the Livy server log. Livy 0.7.1 logs every batch request and spark-submit command line at INFO
(loggers `org.apache.livy.server.batch.BatchSession$` and `org.apache.livy.utils.SparkProcessBuilder`),
conf values included: livy/conf/log4j.properties.template sets both to WARN.
"""

import dagster as dg
import pytest

from dagster_livy import LivyResource
from tests.conftest import REPO

pytestmark = pytest.mark.integration
SCRIPTS = REPO / "tests" / "livy_scripts"
SECRETS = ("s3cr3t-conf-value", "pa55-w0rd-value")


def run_secretive(livy_stack) -> tuple[str, str]:
    """Run a batch with a secret conf value and a password; return (event log, Livy server log)."""
    staged = livy_stack.stage(SCRIPTS / "sleeper.py")

    @dg.asset
    def secretive(context: dg.AssetExecutionContext, livy: LivyResource):
        livy.run_batch(context, staged, args=["0"], conf={"spark.hadoop.fs.s3a.secret.key": SECRETS[0]})

    livy = LivyResource(url=livy_stack.url, username="tester", password=SECRETS[1])
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([secretive], resources={"livy": livy}, instance=instance)
    assert result.success
    messages = "\n".join(e.user_message or "" for e in instance.all_logs(result.run_id))
    server_log = livy_stack.server_log.read_text(errors="replace") if livy_stack.started_here else ""
    return messages, server_log


@pytest.fixture(scope="module")
def logs_after_secret_batch(livy_stack):
    return run_secretive(livy_stack)


def test_secrets_never_reach_the_event_log(logs_after_secret_batch):
    messages, _ = logs_after_secret_batch
    print(f"\nchecked {len(messages)} chars of event log")
    assert "spark.hadoop.fs.s3a.secret.key" in messages and "sleeper done" in messages  # logged, redacted
    for secret in SECRETS:
        assert secret not in messages


def test_secret_conf_never_reaches_the_livy_server_log(livy_stack, logs_after_secret_batch):
    if not livy_stack.started_here:
        pytest.skip("the server log is only readable for the suite's own Livy")
    _, server_log = logs_after_secret_batch
    assert SECRETS[0] not in server_log
    print(f"\nsecret absent from {len(server_log)} chars of the Livy server log")
