"""Authentication helpers for the Livy client (HTTP Basic, Bearer token, Kerberos/SPNEGO)."""

from __future__ import annotations

from typing import Any, Mapping

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from dagster_livy.client import LivyClient
from dagster_livy.errors import LivyConfigError

KERBEROS_EXTRA_HINT = "Kerberos auth needs the optional extra: pip install 'dagster-livy[kerberos]'"


class BearerAuth(AuthBase):
    """Sets ``Authorization: Bearer <token>`` (gateways such as Knox with JWT)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r

    def __repr__(self) -> str:
        # Never leak the token into logs or tracebacks.
        return "BearerAuth(token='***')"


def make_auth(
    *,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    kerberos: bool = False,
) -> AuthBase | None:
    """Return a requests auth object for at most one method, or None for no auth.

    Livy itself checks Basic credentials only with ``livy.server.auth.type = ldap``; SPNEGO
    with ``kerberos``. Bearer tokens are for gateways in front of Livy.
    """
    basic = username is not None or password is not None
    methods = (("basic", basic), ("token", token is not None), ("kerberos", kerberos))
    chosen = [m for m, on in methods if on]
    if len(chosen) > 1:
        raise LivyConfigError(f"choose one auth method, got several: {', '.join(chosen)}")
    if basic:
        if not username or password is None:
            raise LivyConfigError("basic auth needs both username and password")
        return HTTPBasicAuth(username, password)
    if token is not None:
        if not token:
            raise LivyConfigError("token must be a non-empty string")
        return BearerAuth(token)
    if kerberos:
        try:
            # Optional dependency: import only when Kerberos is asked for.
            from requests_gssapi import HTTPSPNEGOAuth  # type: ignore[import-not-found]
        except ImportError as exc:
            raise LivyConfigError(KERBEROS_EXTRA_HINT) from exc
        return HTTPSPNEGOAuth()
    return None


def livy_client_from_env(url: str, env: Mapping[str, str], **client_kwargs: Any) -> LivyClient:
    """A client for ``url`` with the Dagster resource's auth variables from ``env``:
    LIVY_TOKEN, or LIVY_USERNAME and LIVY_PASSWORD (the notebook assets and the kernel use it)."""
    auth = make_auth(username=env.get("LIVY_USERNAME") or None, password=env.get("LIVY_PASSWORD"),
                     token=env.get("LIVY_TOKEN") or None)
    return LivyClient(url, auth=auth, **client_kwargs)
