"""Section 5 of issue 7: the security model, stated (docs/security.md) and enforced.

- Livy 0.7.1's `livy.file.local-dir-whitelist` is not a boundary: a real batch naming a script
  outside it through `..` segments or a `local:` URI runs (the docs must not promise otherwise).
- livyctl refuses to bind beyond loopback unless LIVY_AUTH names who authenticates callers, and
  renders Livy's own authentication settings when it does.
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import REPO, run_livyctl, unique_name

HEADERS = {"X-Requested-By": "tests", "Content-Type": "application/json"}


def escaping_paths(script) -> dict[str, str]:
    """Three spellings of a script outside the whitelist (spark_scripts/ and staging/)."""
    up = "/..".join([""] * (len((REPO / "spark_scripts").parts)))  # back to /
    dotted = f"{REPO / 'spark_scripts'}{up}{script}"
    return {"file path with ..": dotted, "file:// URL with ..": f"file://{dotted}", "local: URI": f"local:{script}"}


@pytest.mark.integration
def test_whitelist_is_not_a_boundary_on_livy_071(livy_stack, tmp_path):
    script = tmp_path / "outside_whitelist.py"
    script.write_text("print('RAN OUTSIDE THE WHITELIST', flush=True)\n")
    ran = {}
    for label, path in escaping_paths(script).items():
        name = unique_name("whitelist-escape")
        resp = requests.post(f"{livy_stack.url}/batches", headers=HEADERS, timeout=30,
                             json={"file": path, "name": name, "conf": {"spark.log.level": "WARN"}})
        try:
            assert resp.status_code == 201, f"{label}: {resp.status_code} {resp.text[:300]}"
            deadline = time.monotonic() + 180
            while (state := requests.get(f"{livy_stack.url}/batches/{name}", timeout=10).json()["state"]) \
                    not in ("success", "dead", "killed") and time.monotonic() < deadline:
                time.sleep(0.5)
            log = requests.get(f"{livy_stack.url}/batches/{name}/log", params={"size": -1}, timeout=10).json()["log"]
            ran[label] = state == "success" and any("RAN OUTSIDE THE WHITELIST" in line for line in log)
        finally:
            requests.delete(f"{livy_stack.url}/batches/{name}", headers=HEADERS, timeout=10)
    # If this fails, Livy enforces its whitelist: update docs/security.md and docs/livy.md.
    assert all(ran.values()), ran
    print(f"\nFIGURE whitelist escapes that ran on Livy 0.7.1: {sum(ran.values())}/{len(ran)} ({', '.join(ran)})")


def conf_env(tmp_path, **extra) -> dict[str, str]:
    return {"LIVY_RUN_DIR": str(tmp_path / "run"), "LAKEHOUSE_DIR": str(tmp_path / "lh"),
            "LIVY_PORT": "18997", **extra}


def livy_conf(tmp_path) -> dict[str, str]:
    lines = (tmp_path / "run" / "conf" / "livy.conf").read_text().splitlines()
    return {k.strip(): v.strip() for k, _, v in (l.partition("=") for l in lines if "=" in l and not l.startswith("#"))}


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "livy.example.com"])
def test_bind_beyond_loopback_without_auth_is_refused(tmp_path, host):
    for cmd in ("conf", "up"):
        out = run_livyctl(conf_env(tmp_path, LIVY_HOST=host, LIVY_AUTH=""), cmd, check=False)
        assert out.returncode == 1, out
        assert f"LIVY_HOST={host}" in out.stderr and "LIVY_AUTH" in out.stderr, out.stderr
    assert not (tmp_path / "run" / "livy-server.pid").exists(), "a server was started"
    assert not (tmp_path / "run" / "conf" / "livy.conf").exists()
    print(f"\nFIGURE LIVY_HOST={host} without LIVY_AUTH: conf and up refused, nothing started")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_needs_no_auth(tmp_path, host):
    run_livyctl(conf_env(tmp_path, LIVY_HOST=host, LIVY_AUTH=""), "conf")
    conf = livy_conf(tmp_path)
    assert conf["livy.server.host"] == host and "livy.server.auth.type" not in conf
    print(f"\nLIVY_HOST={host} without LIVY_AUTH: conf rendered ({len(conf)} keys), no auth type")


@pytest.mark.parametrize("auth, extra, missing", [
    ("ldap", {}, "LIVY_AUTH_LDAP_URL"),
    ("kerberos", {"LIVY_AUTH_KERBEROS_KEYTAB": "/etc/livy.keytab"}, "LIVY_AUTH_KERBEROS_PRINCIPAL"),
    ("basic", {}, "not one of kerberos, ldap, proxy"),
    ("proxy", {"LIVY_IMPERSONATION": "true"}, "LIVY_IMPERSONATION needs"),
])
def test_auth_setting_errors_name_the_setting(tmp_path, auth, extra, missing):
    out = run_livyctl(conf_env(tmp_path, LIVY_HOST="0.0.0.0", LIVY_AUTH=auth, **extra), "conf", check=False)
    assert out.returncode == 1 and missing in out.stderr, out.stderr
    print(f"\nLIVY_AUTH={auth}: exit 1 naming {missing!r}")


def test_auth_settings_render_livy_authentication(tmp_path):
    run_livyctl(conf_env(tmp_path, LIVY_HOST="0.0.0.0", LIVY_AUTH="ldap",
                         LIVY_AUTH_LDAP_URL="ldaps://ldap.example.com:636",
                         LIVY_AUTH_LDAP_BASE_DN="ou=people,dc=example,dc=com",
                         LIVY_IMPERSONATION="true"), "conf")
    conf = livy_conf(tmp_path)
    assert conf["livy.server.auth.type"] == "ldap"
    assert conf["livy.server.auth.ldap.url"] == "ldaps://ldap.example.com:636"
    assert conf["livy.server.auth.ldap.base-dn"] == "ou=people,dc=example,dc=com"
    assert conf["livy.impersonation.enabled"] == "true"
    assert conf["livy.server.csrf-protection.enabled"] == "true"
    run_livyctl(conf_env(tmp_path, LIVY_HOST="0.0.0.0", LIVY_AUTH="kerberos",
                         LIVY_AUTH_KERBEROS_PRINCIPAL="HTTP/_HOST@EXAMPLE.COM",
                         LIVY_AUTH_KERBEROS_KEYTAB="/etc/security/spnego.keytab"), "conf")
    conf = livy_conf(tmp_path)
    assert conf["livy.server.auth.type"] == "kerberos"
    assert conf["livy.server.auth.kerberos.principal"] == "HTTP/_HOST@EXAMPLE.COM"
    assert conf["livy.server.auth.kerberos.keytab"] == "/etc/security/spnego.keytab"
    run_livyctl(conf_env(tmp_path, LIVY_HOST="0.0.0.0", LIVY_AUTH="proxy"), "conf")
    assert "livy.server.auth.type" not in livy_conf(tmp_path)
    print("\n3 auth modes rendered: ldap (4 keys + csrf), kerberos (3 keys), proxy (no Livy auth)")
