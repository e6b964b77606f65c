"""What a pyspark-livy kernel asks Livy for: kernelspec config, then environment overrides.

The kernelspec's ``metadata.kernel_provisioner.config`` sets the defaults; ``LIVY_KERNEL_*``
variables (in the Jupyter server's / papermill's environment, or the kernelspec's ``env``)
override them per launch. A bad value is a :class:`LivyConfigError` naming the variable.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlparse

from dagster_livy.env import DEFAULT_PORT, livy_url, seconds, staging_dir
from dagster_livy.errors import LivyConfigError
from dagster_livy.jupyter.launcher import source_address

ENCRYPTION_POLICIES = ("auto", "required", "disabled")
# variable -> (field, parser)
_ENV_FIELDS: dict[str, tuple[str, Callable[[str, str], Any]]] = {}


def _float(var: str, raw: str) -> float:
    try:
        return seconds(var, raw)
    except ValueError as exc:
        raise LivyConfigError(str(exc)) from None


def _int(var: str, raw: str) -> int:
    if not raw.strip().isdigit() or int(raw) <= 0:
        raise LivyConfigError(f"{var} must be a positive integer, got {raw!r}")
    return int(raw)


def _port(var: str, raw: str) -> int:
    if not raw.strip().isdigit() or not 0 <= int(raw) < 65536:
        raise LivyConfigError(f"{var} must be a port number (0 = any free port), got {raw!r}")
    return int(raw)


def _str(var: str, raw: str) -> str:
    return raw.strip()


def _encryption(var: str, raw: str) -> str:
    value = raw.strip().lower()
    if value not in ENCRYPTION_POLICIES:
        raise LivyConfigError(f"{var} must be one of {', '.join(ENCRYPTION_POLICIES)}, got {raw!r}")
    return value


def _list(var: str, raw: str) -> list[str]:
    return [x.strip() for x in raw.split(",") if x.strip()]


def _conf(var: str, raw: str) -> dict[str, str]:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise LivyConfigError(f"{var} must be a JSON object of Spark conf, got {raw[:200]!r}: {exc}") from None
    if not isinstance(value, dict):
        raise LivyConfigError(f"{var} must be a JSON object of Spark conf, got {type(value).__name__}")
    return {str(k): str(v) for k, v in value.items()}


for _var, _spec in {
    "LIVY_KERNEL_CONF": ("conf", _conf),  # merged over the kernelspec's conf
    "LIVY_KERNEL_DRIVER_MEMORY": ("driver_memory", _str),
    "LIVY_KERNEL_DRIVER_CORES": ("driver_cores", _int),
    "LIVY_KERNEL_EXECUTOR_MEMORY": ("executor_memory", _str),
    "LIVY_KERNEL_EXECUTOR_CORES": ("executor_cores", _int),
    "LIVY_KERNEL_NUM_EXECUTORS": ("num_executors", _int),
    "LIVY_KERNEL_PY_FILES": ("py_files", _list),  # appended to the kernelspec's
    "LIVY_KERNEL_QUEUE": ("queue", _str),
    "LIVY_KERNEL_PROXY_USER": ("proxy_user", _str),
    "LIVY_KERNEL_IDLE_TIMEOUT_S": ("idle_timeout_s", _float),
    "LIVY_KERNEL_START_TIMEOUT_S": ("start_timeout_s", _float),
    "LIVY_KERNEL_PING_INTERVAL_S": ("ping_interval_s", _float),
    "LIVY_KERNEL_IP": ("kernel_ip", _str),
    "LIVY_KERNEL_RESPONSE_HOST": ("response_host", _str),
    "LIVY_KERNEL_RESPONSE_PORT": ("response_port", _port),
    "LIVY_KERNEL_BATCH_TAG": ("batch_tag", _str),
    "LIVY_KERNEL_TRANSPORT_ENCRYPTION": ("transport_encryption", _encryption),
}.items():
    _ENV_FIELDS[_var] = _spec


@dataclass(frozen=True)
class KernelSettings:
    """Everything one kernel launch needs (resolved: no None where a default exists)."""

    livy_url: str
    staging_dir: Path
    staging_uri: str  # how Livy names staging_dir (file: URL by default; hdfs:/s3a: when remote)
    conf: dict[str, str] = field(default_factory=dict)
    driver_memory: str | None = None
    driver_cores: int | None = None
    executor_memory: str | None = None
    executor_cores: int | None = None
    num_executors: int | None = None
    py_files: list[str] = field(default_factory=list)
    ship_packages: list[str] = field(default_factory=lambda: ["lakehouse_jobs"])
    queue: str | None = None
    proxy_user: str | None = None
    idle_timeout_s: float = 3600.0
    start_timeout_s: float = 300.0
    ping_interval_s: float = 10.0
    kernel_ip: str = ""
    response_host: str = ""
    response_port: int = 0
    # CurveZMQ on the kernel's channels: auto = when both sides' pyzmq has it; required; disabled.
    transport_encryption: str = "auto"
    batch_tag: str = ""  # put into the batch name, so a caller (a notebook asset) can find its kernel's batch

    @classmethod
    def resolve(cls, config: Mapping[str, Any], env: Mapping[str, str]) -> KernelSettings:
        """Kernelspec ``config`` (trait values), then ``LIVY_KERNEL_*`` overrides from ``env``."""
        local = staging_dir(env)
        base = cls(
            livy_url=livy_url(env),
            staging_dir=local,
            staging_uri=(env.get("LIVY_STAGING_URI") or local.as_uri()).rstrip("/"),
            **{k: v for k, v in config.items() if v is not None},
        )
        overrides: dict[str, Any] = {}
        for var, (name, parse) in _ENV_FIELDS.items():
            raw = env.get(var)
            if raw is None or raw == "":
                continue
            value = parse(var, raw)
            if name == "conf":
                value = {**base.conf, **value}
            elif name == "py_files":
                value = [*base.py_files, *value]
            overrides[name] = value
        settings = replace(base, **overrides)
        _encryption("transport_encryption", settings.transport_encryption)
        if settings.ping_interval_s <= 0:
            raise LivyConfigError("ping_interval_s (LIVY_KERNEL_PING_INTERVAL_S) must be > 0")
        if 0 < settings.idle_timeout_s < 2 * settings.ping_interval_s:
            raise LivyConfigError(
                f"idle_timeout_s ({settings.idle_timeout_s}) must be at least twice ping_interval_s "
                f"({settings.ping_interval_s}), or a healthy kernel would time out")
        return settings

    def response_address(self) -> tuple[str, str]:
        """(bind host, advertised host) of the response socket the launcher connects back to.

        Default: loopback when Livy is local (the driver runs on this machine), else this host's
        address on its route towards Livy (bound on that interface only); set
        LIVY_KERNEL_RESPONSE_HOST when the driver must use another name (NAT, containers).
        """
        if self.response_host:
            return self.response_host, self.response_host
        url = urlparse(self.livy_url)
        host = url.hostname or "127.0.0.1"
        try:
            loopback = ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
        except (OSError, ValueError):
            loopback = False
        if loopback:
            return "127.0.0.1", "127.0.0.1"
        try:
            own = source_address(host, url.port or DEFAULT_PORT)
        except OSError as exc:
            raise LivyConfigError(f"no route from this host to the Livy host {host!r} ({exc}); "
                                  "set LIVY_KERNEL_RESPONSE_HOST") from exc
        return own, own
