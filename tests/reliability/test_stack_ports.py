"""Section 2 of issue 7: one setting decides where the local stack talks, and a server that
already answers on that port is used only if it is this checkout's own.

The owner is read from /proc: the pid listening on the port and its LIVY_CONF_DIR / LIVY_HOME /
LAKEHOUSE_DIR (livy/stackproc.py), compared with this checkout's run dir.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import REPO, free_port, run_livyctl
from tests.reliability.conftest import stackproc, state_of

pytestmark = pytest.mark.integration


def test_up_status_check_down_follow_livy_port(own_livy):
    own_livy.ensure_up()
    port = int(own_livy.env["LIVY_PORT"])
    status = own_livy.run("status")
    assert f"running at http://127.0.0.1:{port}" in status.stdout, status.stdout
    assert own_livy.run("check", check=False).returncode == 0
    # What answers on the port is the process livyctl started and recorded.
    assert stackproc.listener_pid(port) == own_livy.server_pid() == state_of(own_livy.run_dir)["pid"]
    assert requests.get(f"{own_livy.url}/version", timeout=10).ok
    print(f"\nFIGURE LIVY_PORT={port}: up/status/check answered on it; listener pid {own_livy.server_pid()}")


def other_checkout(tmp_path, port: int) -> dict[str, str]:
    return {"LIVY_RUN_DIR": str(tmp_path / "other-run"), "LAKEHOUSE_DIR": str(tmp_path / "other-lh"),
            "LIVY_PORT": str(port)}


def test_up_refuses_another_checkouts_livy(own_livy, tmp_path):
    own_livy.ensure_up()
    env = other_checkout(tmp_path, int(own_livy.env["LIVY_PORT"]))
    began = time.monotonic()
    out = run_livyctl(env, "up", check=False)
    took = time.monotonic() - began
    assert out.returncode == 1, out
    msg = out.stderr
    assert f"pid {own_livy.server_pid()}" in msg and str(own_livy.run_dir) in msg, msg
    assert own_livy.env["LAKEHOUSE_DIR"] in msg and "LIVY_PORT=" in msg and "make down" in msg, msg
    assert not (tmp_path / "other-run" / "livy-server.pid").exists()
    # status and check say the same, without touching the server.
    assert run_livyctl(env, "check", check=False).returncode == 1
    assert run_livyctl(env, "status", check=False).returncode == 4
    assert stackproc.alive(own_livy.server_pid())
    print(f"\nFIGURE another checkout's Livy on the port: refused in {took:.2f}s, message names "
          f"pid {own_livy.server_pid()} and run dir {own_livy.run_dir}")


def test_up_refuses_a_process_that_is_not_livy(tmp_path):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while stackproc.listener_pid(port) != server.pid and time.monotonic() < deadline:
            time.sleep(0.1)
        out = run_livyctl(other_checkout(tmp_path, port), "up", check=False)
        assert out.returncode == 1, out
        assert f"pid {server.pid}, which is not a Livy server" in out.stderr, out.stderr
        assert "http.server" in out.stderr
    finally:
        server.terminate()
        server.wait(10)
    print(f"\nFIGURE a non-Livy listener (pid {server.pid}) on LIVY_PORT: refused, named")


def test_demo_refuses_another_checkouts_livy(own_livy, tmp_path):
    own_livy.ensure_up()
    before = requests.get(f"{own_livy.url}/batches", timeout=10).json()["total"]
    env = {**os.environ, **other_checkout(tmp_path, int(own_livy.env["LIVY_PORT"])),
           "PYTHON": sys.executable, "DAGSTER_HOME": str(tmp_path / "dagster")}
    env.pop("LIVY_URL", None)
    proc = subprocess.run([sys.executable, "-m", "dagster_livy.lakehouse.demo", "--days", "1"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert str(own_livy.run_dir) in proc.stderr and "not this checkout's" in proc.stdout
    # Nothing was sent to the other server and nothing written to either lakehouse.
    assert requests.get(f"{own_livy.url}/batches", timeout=10).json()["total"] == before
    assert not (tmp_path / "other-lh" / "catalog.db").exists()
    print(f"\nFIGURE make demo on another checkout's port: exit 2 before any batch; "
          f"{before} batches on that server before and after")


def test_up_adopts_its_own_server_when_the_pid_file_is_lost(own_livy):
    own_livy.ensure_up()
    pid = own_livy.server_pid()
    (own_livy.run_dir / "livy-server.pid").unlink()
    out = own_livy.run("up")
    assert f"already running (pid {pid})" in out.stdout, out.stdout
    assert own_livy.server_pid() == pid and stackproc.alive(pid)
    print(f"\nFIGURE pid file lost: `up` recognized its own server (pid {pid}) by LIVY_CONF_DIR, no restart")


def test_own_server_with_another_lakehouse_is_refused(own_livy, tmp_path):
    own_livy.ensure_up()
    env = {**own_livy.ctl_env, "LAKEHOUSE_DIR": str(tmp_path / "elsewhere")}
    for cmd in ("up", "check"):
        out = own_livy.run(cmd, check=False, env=env)
        assert out.returncode == 1, out
        assert f"writes to lakehouse {own_livy.env['LAKEHOUSE_DIR']}" in out.stderr, out.stderr
    print("\nFIGURE own server, other LAKEHOUSE_DIR: up/check refuse, naming both lakehouses")


def test_own_server_with_another_setup_is_refused_by_check_and_status(own_livy):
    # `make up` (local mode, SQLite) then `make demo CLUSTER=1`: `check` (what the demo runs) and
    # `status` must not pass the local-mode server off as the cluster one.
    own_livy.ensure_up()
    env = {**own_livy.ctl_env, "LIVY_SPARK_MASTER": "spark://127.0.0.1:7077", "ICEBERG_DB_HOST": "127.0.0.1",
           "ICEBERG_DB_PORT": "5433", "ICEBERG_DB": "iceberg", "ICEBERG_DB_USER": "iceberg",
           "ICEBERG_DB_PASSWORD": "unused"}
    check = own_livy.run("check", check=False, env=env)
    assert check.returncode == 1, check
    assert "local[*]" in check.stderr and "spark://127.0.0.1:7077" in check.stderr, check.stderr
    assert "jdbc:postgresql://127.0.0.1:5433/iceberg" in check.stderr and "catalog.db" in check.stderr
    assert "make down" in check.stderr
    status = own_livy.run("status", check=False, env=env)
    assert status.returncode == 4 and "spark://127.0.0.1:7077" in status.stdout, status
    assert own_livy.run("check", check=False).returncode == 0  # as asked: still accepted
    print("\nFIGURE own local-mode server, cluster setup asked: check exits 1, status 4, naming both setups")
