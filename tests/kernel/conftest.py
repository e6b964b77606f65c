"""Fixtures for the pyspark-livy kernel tests: the kernelspec installed, the provisioner pointed
at the test Livy (through the environment, as a user would), and a Livy client to check batches."""

from __future__ import annotations

import os

import pytest
from jupyter_client import KernelManager

from dagster_livy.client import LivyClient
from dagster_livy.jupyter import KERNEL_NAME
from dagster_livy.jupyter.kernelspec import install
from dagster_livy.models import Batch
from tests.conftest import kernel_batches

@pytest.fixture(scope="module")
def kernel_env(livy_stack):
    """os.environ pointing the provisioner at the test Livy; the kernelspec installed in the venv."""
    install()
    mp = pytest.MonkeyPatch()
    mp.setenv("LIVY_URL", livy_stack.url)
    mp.setenv("LIVY_STAGING_DIR", str(livy_stack.staging_dir))
    mp.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    for var in [v for v in os.environ if v.startswith("LIVY_KERNEL_")]:
        mp.delenv(var)
    try:
        yield dict(os.environ)
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def livy(livy_stack):
    with LivyClient(livy_stack.url) as client:
        yield client


def live_kernel_batches(livy: LivyClient) -> list[Batch]:
    """Kernel batches Livy still runs (not ended)."""
    return [b for b in kernel_batches(livy) if not b.state.is_terminal]


def new_kernel_manager() -> KernelManager:
    return KernelManager(kernel_name=KERNEL_NAME)


def execute(kc, code: str, timeout: float = 180) -> tuple[dict, str]:
    """Run `code`; return the execute_reply content and the text it produced (result + stdout)."""
    out: list[str] = []

    def hook(msg):
        c = msg["content"]
        if msg["msg_type"] == "stream":
            out.append(c["text"])
        elif msg["msg_type"] in ("execute_result", "display_data"):
            out.append(c["data"].get("text/plain", ""))

    reply = kc.execute_interactive(code, timeout=timeout, output_hook=hook)
    return reply["content"], "".join(out)
