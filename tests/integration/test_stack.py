"""The local real stack: Apache Livy from Maven Central + Spark 3.5 + Iceberg, loopback only."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from tests.conftest import REPO, free_port, lakehouse_catalog, run_livyctl, unique_name

pytestmark = pytest.mark.integration
HEADERS = {"X-Requested-By": "tests", "Content-Type": "application/json"}


def pom_livy_version() -> str:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    return ET.parse(REPO / "livy" / "pom.xml").getroot().find("m:properties/m:livy.version", ns).text


def wait_batch(url: str, name: str, timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch = requests.get(f"{url}/batches/{name}", timeout=10).json()
        if batch["state"] in ("success", "dead", "killed", "error"):
            return batch
        time.sleep(0.5)
    raise AssertionError(f"batch {name} not finished after {timeout_s}s")


def test_version_is_the_resolved_livy(livy_stack):
    version = requests.get(f"{livy_stack.url}/version", timeout=10).json()
    if livy_stack.env.get("LIVY_DIST"):
        pytest.skip("running a user-supplied Livy distribution")
    assert version["version"] == pom_livy_version()


def test_batch_writes_iceberg_table_that_pyiceberg_reads(livy_stack):
    name = unique_name("stack-smoke")
    body = {
        "file": (REPO / "spark_scripts" / "smoke_iceberg.py").as_uri(),
        "name": name,
        "args": ["--table", "smoke.stack_numbers", "--rows", "17"],
    }
    resp = requests.post(f"{livy_stack.url}/batches", json=body, headers=HEADERS, timeout=30)
    assert resp.status_code == 201, resp.text
    try:
        batch = wait_batch(livy_stack.url, name)
        log = requests.get(f"{livy_stack.url}/batches/{name}/log", params={"size": -1}, timeout=10).json()
        assert batch["state"] == "success", log["log"]
        assert "SMOKE_ROWS smoke.stack_numbers 17" in log["log"]
    finally:
        requests.delete(f"{livy_stack.url}/batches/{name}", headers=HEADERS, timeout=10)
    catalog = lakehouse_catalog(livy_stack)
    table = catalog.load_table("smoke.stack_numbers").scan().to_arrow()
    assert sorted(table.column("square").to_pylist()) == sorted(i * i for i in range(17))


def test_file_outside_whitelist_is_rejected(livy_stack):
    resp = requests.post(f"{livy_stack.url}/batches", json={"file": "file:///etc/hostname"},
                         headers=HEADERS, timeout=30)
    assert resp.status_code in (400, 500), resp.text
    assert "/etc/hostname" in resp.text
    # Livy leaves a zombie batch stuck in `starting` after a rejected start: remove it.
    for batch in requests.get(f"{livy_stack.url}/batches", timeout=10).json()["sessions"]:
        if batch["state"] == "starting" and not batch.get("name"):
            requests.delete(f"{livy_stack.url}/batches/{batch['id']}", headers=HEADERS, timeout=10)


def repl_jars_available(env: dict) -> bool:
    home = Path(env["LIVY_HOME"])
    return any(home.glob("repl_2.12-jars/*.jar"))


def test_interactive_pyspark_session(livy_stack):
    if not repl_jars_available(livy_stack.env):
        pytest.skip("no livy-repl jars: Maven Central never published livy-repl; set LIVY_DIST to a "
                    "Livy binary distribution to run sessions (see docs/livy.md)")
    resp = requests.post(f"{livy_stack.url}/sessions", json={"kind": "pyspark"}, headers=HEADERS, timeout=30)
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]
    try:
        deadline = time.monotonic() + 180
        while requests.get(f"{livy_stack.url}/sessions/{sid}", timeout=10).json()["state"] != "idle":
            assert time.monotonic() < deadline, "session did not become idle"
            time.sleep(1)
        st = requests.post(f"{livy_stack.url}/sessions/{sid}/statements",
                           json={"code": "spark.range(10).count()"}, headers=HEADERS, timeout=30).json()
        while st["state"] not in ("available", "cancelled"):
            time.sleep(0.5)
            st = requests.get(f"{livy_stack.url}/sessions/{sid}/statements/{st['id']}", timeout=10).json()
        assert st["output"]["status"] == "ok", st["output"]
        assert st["output"]["data"]["text/plain"].strip() == "10"
    finally:
        requests.delete(f"{livy_stack.url}/sessions/{sid}", headers=HEADERS, timeout=10)
    assert requests.get(f"{livy_stack.url}/sessions/{sid}", timeout=10).status_code == 404


def listening_addresses(pids: set[int]) -> list[str]:
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            found.append(line.split()[3])
    return found


def process_group(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid=,pgid="], capture_output=True, text=True, check=True).stdout
    return {int(p) for p, g in (l.split() for l in out.splitlines()) if int(g) == pid}


def test_stack_listens_on_loopback_only(livy_stack):
    pid = livy_stack.server_pid()
    if pid is None:
        pytest.skip("server not started by the tests")
    addresses = listening_addresses(process_group(pid))
    assert addresses, "found no listening socket of the Livy server"
    for addr in addresses:
        host = addr.rsplit(":", 1)[0].strip("[]")
        assert host in ("127.0.0.1", "::ffff:127.0.0.1", "::1"), f"non-loopback listener {addr}"


def test_livyctl_refuses_a_port_in_use(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = run_livyctl({"LIVY_RUN_DIR": str(tmp_path), "LIVY_PORT": str(port)}, "up", check=False)
    assert proc.returncode != 0
    assert f"port {port}" in proc.stderr and "already in use" in proc.stderr


def test_livyctl_refuses_old_or_missing_java(tmp_path):
    proc = run_livyctl({"LIVY_RUN_DIR": str(tmp_path), "LIVY_PORT": str(free_port()),
                        "JAVA_HOME": str(tmp_path / "no-java")}, "up", check=False)
    assert proc.returncode != 0
    assert "Java is not installed" in proc.stderr


def test_livyctl_shows_the_log_when_livy_fails_to_start(tmp_path):
    # A heap too small to boot makes the JVM exit at once: the user must see why, from its log.
    proc = run_livyctl({"LIVY_RUN_DIR": str(tmp_path), "LIVY_PORT": str(free_port()),
                        "LIVY_SERVER_JAVA_OPTS": "-Xmx1k"}, "up", check=False)
    assert proc.returncode != 0
    assert "Livy exited with status" in proc.stderr
    assert "heap" in proc.stderr.lower()
