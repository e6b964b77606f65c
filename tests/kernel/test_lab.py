"""JupyterLab smoke test: the server lists pyspark-livy and runs a kernel of it on Livy through
its REST API and kernel websocket, as the browser does."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
import uuid

import pytest
import requests
import websocket
from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session

from dagster_livy.notebooks import delete_kernel_batches
from tests.conftest import free_port
from tests.kernel.conftest import live_kernel_batches

pytestmark = pytest.mark.integration


@pytest.fixture
def lab(kernel_env, tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={tmp_path}",
           f"--IdentityProvider.token={token}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--ServerApp.allow_root=True"]
    # The tag finds this server's kernel batches even when POST /api/kernels failed or timed out
    # (no kernel id to delete); the short idle timeout ends a kernel whose server was killed.
    tag = f"lab-{secrets.token_hex(4)}"
    env = {**kernel_env, "LIVY_KERNEL_BATCH_TAG": tag, "LIVY_KERNEL_IDLE_TIMEOUT_S": "120"}
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    http = requests.Session()
    http.headers["Authorization"] = f"token {token}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()
            try:
                if http.get(f"{base}/api/status", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "lab.log").read_text()
            time.sleep(0.5)
        yield base, token, http
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        left = delete_kernel_batches(None, kernel_env["LIVY_URL"], tag, print)
        print(f"\nteardown: {len(left)} kernel batch(es) of tag {tag} left to delete")


def _message(msg_type: str, content: dict, session: str) -> dict:
    # jupyter_client writes the protocol header (msg_id, date, version); the test reads no time.
    header = json.loads(json.dumps(Session(session=session, username="test").msg_header(msg_type),
                                   default=json_default))
    return {"header": header, "parent_header": {}, "metadata": {}, "content": content,
            "channel": "shell", "buffers": []}


def test_jupyterlab_runs_pyspark_livy_kernel(lab, livy):
    base, token, http = lab
    specs = http.get(f"{base}/api/kernelspecs", timeout=30).json()["kernelspecs"]
    assert specs["pyspark-livy"]["spec"]["display_name"] == "PySpark on Livy"

    resp = http.post(f"{base}/api/kernels", json={"name": "pyspark-livy"}, timeout=600)
    assert resp.status_code == 201, resp.text
    kernel_id = resp.json()["id"]
    try:
        assert len(live_kernel_batches(livy)) == 1
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{base.rsplit(':', 1)[1]}/api/kernels/{kernel_id}/channels?token={token}",
            timeout=180)
        try:
            request = _message("execute_request", {"code": "spark.range(10).count()", "silent": False,
                                                   "store_history": True, "user_expressions": {},
                                                   "allow_stdin": False}, uuid.uuid4().hex)
            ws.send(json.dumps(request))
            result = None
            while True:
                msg = json.loads(ws.recv())
                if msg["parent_header"].get("msg_id") != request["header"]["msg_id"]:
                    continue
                if msg["msg_type"] == "execute_result":
                    result = msg["content"]["data"]["text/plain"]
                if msg["msg_type"] == "execute_reply":
                    assert msg["content"]["status"] == "ok", msg["content"]
                    break
        finally:
            ws.close()
        assert result == "10"
    finally:
        assert http.delete(f"{base}/api/kernels/{kernel_id}", timeout=120).status_code == 204
    assert live_kernel_batches(livy) == []
