"""Section 5 of issue 7, compose side (static, no Docker engine): Livy's only entry is the
authenticating proxy, rendered from the same template the real-nginx tests run."""

from __future__ import annotations

import re

import pytest

from tests.test_compose import (COMPOSE_FILE, bind_mounts, depends_on, env_with_dummy_secrets,
                                interpolate, load_compose, service_env, services)
from tests.conftest import REPO

TEMPLATE = REPO / "docker" / "livy-proxy.conf.template"
DAGSTER_SIDE = ("dagster-webserver", "dagster-daemon", "jupyter")


def test_livy_is_not_published_and_requires_the_proxy_mode():
    livy = services()["livy"]
    assert not livy.get("ports"), f"livy must not be published (use livy-proxy): {livy.get('ports')}"
    env = service_env("livy")
    assert env["LIVY_AUTH"] == "proxy" and env["LIVY_HOST"] == "0.0.0.0"


def test_proxy_is_debian_nginx_with_the_shared_template():
    proxy = services()["livy-proxy"]
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+-bookworm", proxy["image"]), proxy["image"]
    mounts = {src: (target, ro) for src, target, ro in bind_mounts(proxy)}
    target, read_only = mounts["./docker/livy-proxy.conf.template"]
    # The image's envsubst renders /etc/nginx/templates/X.template to conf.d/X; default.conf
    # replaces the image's own server on port 80.
    assert target == "/etc/nginx/templates/default.conf.template" and read_only
    assert proxy["ports"] == ["127.0.0.1:8998:8998"]
    assert depends_on(proxy) == {"livy": "service_healthy"}


def test_every_template_variable_comes_from_the_proxy_environment():
    needed = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", TEMPLATE.read_text()))
    assert needed == {"LIVY_PROXY_LISTEN", "LIVY_UPSTREAM", "LIVY_PROXY_HTPASSWD", "LIVY_PROXY_TOKEN"}
    env = service_env("livy-proxy")
    assert needed <= set(env), needed - set(env)
    assert env["LIVY_UPSTREAM"] == "http://livy:8998" and env["LIVY_PROXY_LISTEN"] == "8998"
    # The token is required from .env: an empty one would make "Bearer " a valid credential.
    assert re.search(r"LIVY_PROXY_TOKEN: \$\{LIVY_PROXY_TOKEN:\?[^}]+\}", COMPOSE_FILE.read_text())
    # The htpasswd file nginx reads is the config compose writes from .env.
    configs = {c["target"]: c["source"] for c in services()["livy-proxy"]["configs"]}
    source = configs[env["LIVY_PROXY_HTPASSWD"]]
    content = load_compose()["configs"][source]["content"]
    secrets = env_with_dummy_secrets()
    assert interpolate(content, secrets).strip() == \
        f"{secrets['LIVY_PROXY_USER']}:{{PLAIN}}{secrets['LIVY_PROXY_PASSWORD']}"


def test_proxy_forwards_no_credentials_and_offers_basic_or_bearer():
    text = TEMPLATE.read_text()
    assert 'proxy_set_header Authorization "";' in text
    assert "auth_basic_user_file" in text and '"Bearer ${LIVY_PROXY_TOKEN}"  off;' in text


def test_dagster_and_jupyter_reach_livy_through_the_proxy_with_the_token():
    for name in DAGSTER_SIDE:
        env = service_env(name)
        assert env["LIVY_URL"] == "http://livy-proxy:8998", name
        assert env["LIVY_TOKEN"] == env_with_dummy_secrets()["LIVY_PROXY_TOKEN"], name
        assert depends_on(services()[name]).get("livy-proxy") == "service_healthy", name


def test_proxy_healthcheck_goes_through_auth_to_livy():
    test = " ".join(services()["livy-proxy"]["healthcheck"]["test"])
    assert "GET /version" in test and "Authorization: Bearer" in test and "LIVY_PROXY_TOKEN" in test


def test_rendering_refuses_an_empty_token():
    from tests.reliability.conftest import livyconf
    values = {"LIVY_PROXY_LISTEN": "8998", "LIVY_UPSTREAM": "http://livy:8998",
              "LIVY_PROXY_HTPASSWD": "/etc/nginx/livy.htpasswd", "LIVY_PROXY_TOKEN": ""}
    with pytest.raises(SystemExit, match="LIVY_PROXY_TOKEN must be set"):
        livyconf.render_braced(TEMPLATE.read_text(), values)  # "Bearer " would be a valid credential
    rendered = livyconf.render_braced(TEMPLATE.read_text(), {**values, "LIVY_PROXY_TOKEN": "t0k"})
    assert '"Bearer t0k"  off;' in rendered and "$http_authorization" in rendered and "${" not in rendered
