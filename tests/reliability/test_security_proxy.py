"""Section 5 of issue 7: the authenticated entry to Livy, for real.

A real nginx (Debian's, installed by `make system-deps`) is started on a free loopback port from
docker/livy-proxy.conf.template, the very template the compose service `livy-proxy` renders, in
front of the session's real Livy. dagster_livy's client then talks through it with HTTP Basic and
with a Bearer token: the right credentials run a batch and read it back, wrong or missing ones
get LivyHTTPError 401 and nothing reaches Livy.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import time

import pytest
import requests

from dagster_livy import BatchRunner, LivyClient
from dagster_livy.auth import make_auth
from dagster_livy.bodies import build_batch_body
from dagster_livy.errors import LivyHTTPError
from tests.conftest import REPO, free_port, unique_name
from tests.reliability.conftest import livyconf

pytestmark = pytest.mark.integration
TEMPLATE = REPO / "docker" / "livy-proxy.conf.template"


def ssha(password: str) -> str:
    """nginx's {SSHA} htpasswd scheme: base64(sha1(password + salt) + salt)."""
    salt = secrets.token_bytes(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


class Proxy:
    def __init__(self, url, users, token):
        self.url, self.users, self.token = url, users, token


@pytest.fixture(scope="module")
def proxy(livy_stack, tmp_path_factory):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not nginx:
        pytest.fail("nginx is not installed: run `make system-deps` (make test does)")
    tmp = tmp_path_factory.mktemp("nginx")
    users = {"analyst": secrets.token_urlsafe(12), "svc": secrets.token_urlsafe(12)}
    token = secrets.token_urlsafe(24)
    # A hashed entry, and a {PLAIN} one exactly as docker-compose.yml's config writes it.
    (tmp / "htpasswd").write_text(f"analyst:{ssha(users['analyst'])}\nsvc:{{PLAIN}}{users['svc']}\n")
    port = free_port()
    rendered = livyconf.render_braced(TEMPLATE.read_text(), {
        "LIVY_PROXY_LISTEN": f"127.0.0.1:{port}",
        "LIVY_UPSTREAM": livy_stack.url,
        "LIVY_PROXY_HTPASSWD": str(tmp / "htpasswd"),
        "LIVY_PROXY_TOKEN": token,
    })
    (tmp / "livy-proxy.conf").write_text(rendered)
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir()
    # Workers of a root master run as nobody and could not read pytest's 0700 tmp dir.
    user = "user root root;" if os.geteuid() == 0 else ""
    (tmp / "nginx.conf").write_text(f"""
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/livy-proxy.conf;
}}
""")
    proc = subprocess.Popen([nginx, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(tmp / "nginx.conf"),
                             "-g", "daemon off;"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(f"nginx exited {proc.returncode}: {proc.stdout.read().decode()}\n"
                            f"{(tmp / 'error.log').read_text() if (tmp / 'error.log').exists() else ''}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("nginx did not listen within 20s")
                time.sleep(0.1)
        yield Proxy(f"http://127.0.0.1:{port}", users, token)
    finally:
        proc.terminate()
        proc.wait(15)


def client(proxy, **auth) -> LivyClient:
    return LivyClient(proxy.url, auth=make_auth(**auth) if auth else None, retries=0, timeout=(3, 30))


def test_basic_auth_through_nginx_runs_a_batch(proxy, livy_stack):
    name = unique_name("proxy-basic")
    body = build_batch_body(livy_stack.stage(REPO / "tests" / "livy_scripts" / "printer.py"), name=name,
                            args=["5"], conf={"spark.log.level": "WARN"})
    lines = []
    with client(proxy, username="analyst", password=proxy.users["analyst"]) as c:
        assert c.version()["version"]
        result = BatchRunner(c, on_lines=lines.extend).run(body)
    assert result.state == "success" and "printer done" in "\n".join(lines), result
    with client(proxy, username="svc", password=proxy.users["svc"]) as c:
        assert c.version()["version"]  # the compose-style {PLAIN} entry
    print(f"\nFIGURE Basic through nginx: batch {name} {result.state.value} in {result.duration_s:.1f}s, "
          f"{result.requests} authenticated requests")


def test_bearer_token_through_nginx_gets_and_deletes(proxy, livy_stack):
    name = unique_name("proxy-bearer")
    body = build_batch_body(livy_stack.stage(REPO / "tests" / "livy_scripts" / "sleeper.py"), name=name,
                            args=["60"])
    with client(proxy, token=proxy.token) as c:
        assert c.version()["version"]
        c.submit_batch(body)  # POST: the CSRF header passes the proxy too
        assert c.get_batch(name).name == name
        c.delete_batch(name)
    assert requests.get(f"{livy_stack.url}/batches/{name}", timeout=10).status_code == 404
    print("\nFIGURE Bearer through nginx: GET, POST and DELETE answered")


@pytest.mark.parametrize("case", ["no credentials", "wrong password", "unknown user", "wrong token",
                                  "token as Basic password"])
def test_wrong_or_missing_credentials_get_401(proxy, livy_stack, case):
    auth = {
        "no credentials": {},
        "wrong password": {"username": "analyst", "password": proxy.users["analyst"] + "x"},
        "unknown user": {"username": "mallory", "password": proxy.users["analyst"]},
        "wrong token": {"token": proxy.token[:-1]},
        "token as Basic password": {"username": "analyst", "password": proxy.token},
    }[case]
    name = unique_name("proxy-denied")
    with client(proxy, **auth) as c:
        with pytest.raises(LivyHTTPError) as got:
            c.version()
        assert got.value.status_code == 401 and "401" in str(got.value), str(got.value)
        with pytest.raises(LivyHTTPError) as posted:
            c.submit_batch({"file": "file:///nonexistent.py", "name": name})
        assert posted.value.status_code == 401
    # Nothing reached Livy.
    assert requests.get(f"{livy_stack.url}/batches/{name}", timeout=10).status_code == 404
    print(f"\nFIGURE {case}: 401 on GET and POST, nothing reached Livy; the error: {str(got.value)[:160]}")
