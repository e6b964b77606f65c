"""`LivyProvisioner`: a jupyter_client kernel provisioner that runs the kernel as a Livy batch.

Launch: stage the launcher (and the shipped packages as pyFiles) in the whitelisted staging
dir, open a response socket, submit a named batch whose file is the launcher, and wait for the
launcher's sealed connection report while polling the batch: a batch that ends first fails the
start at once with its driver-log tail (the Python traceback). Lifecycle: ``poll``/``wait`` read
the batch state; ``kill``/``terminate``/``cleanup`` delete the batch (a restart is a new batch);
interrupts are messages (``interrupt_mode: message``). A daemon thread pings the launcher over
the response connection; when the pings stop (the Jupyter side died) the launcher exits after
its idle timeout. No Dagster import: this is the Jupyter layer.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import threading
import time
import uuid
from dataclasses import fields
from pathlib import Path
from typing import Any

from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase
from traitlets import Dict, Float, Int, List, Unicode

from dagster_livy.auth import livy_client_from_env
from dagster_livy.bodies import build_batch_body
from dagster_livy.client import LivyClient
from dagster_livy.errors import (
    LivyBatchFailedError, LivyConfigError, LivyConnectionError, LivyError, LivyHTTPError,
    LivyNotFoundError, LivyTimeoutError,
)
from dagster_livy.jupyter import KERNEL_NAME, launcher
from dagster_livy.jupyter.settings import KernelSettings
from dagster_livy.logs import strip_framing
from dagster_livy.models import LivyState
from dagster_livy.naming import batch_name
from dagster_livy.packaging import package_dir, package_zip, stage_file
from dagster_livy.redact import redact_conf

POLL_CACHE_S = 0.5  # KernelManager polls every 0.1s while waiting for a shutdown
LOG_TAIL_LINES = 60
PROGRESS_EVERY_S = 10.0  # a start-up log line at least this often, so a slow start is not silence
_EXIT_CODES = {LivyState.SUCCESS: 0, LivyState.DEAD: 1, LivyState.ERROR: 1,
               LivyState.KILLED: -signal.SIGKILL}


class LivyProvisioner(KernelProvisionerBase):
    """Runs an IPython kernel inside the Python driver of a Livy batch (kernelspec ``pyspark-livy``)."""

    conf = Dict(config=True, help="Spark conf of the kernel's batch.")
    driver_memory = Unicode(None, allow_none=True, config=True)
    driver_cores = Int(None, allow_none=True, config=True)
    executor_memory = Unicode(None, allow_none=True, config=True)
    executor_cores = Int(None, allow_none=True, config=True)
    num_executors = Int(None, allow_none=True, config=True)
    py_files = List(Unicode(), config=True, help="Extra pyFiles URIs Livy can read.")
    ship_packages = List(Unicode(), default_value=["lakehouse_jobs"], config=True,
                         help="Importable packages zipped into the staging dir and shipped as pyFiles.")
    queue = Unicode(None, allow_none=True, config=True)
    proxy_user = Unicode(None, allow_none=True, config=True)
    idle_timeout_s = Float(3600.0, config=True, help="The kernel exits after this long without "
                           "contact from the Jupyter side (0 = never).")
    start_timeout_s = Float(300.0, config=True, help="Give up (and delete the batch) after this long.")
    ping_interval_s = Float(10.0, config=True)
    kernel_ip = Unicode("", config=True, help="Bind address of the kernel ports on the driver host.")
    response_host = Unicode("", config=True, help="Address the driver connects back to.")
    response_port = Int(0, config=True, help="Port of the response socket (0 = any free port).")
    transport_encryption = Unicode("auto", config=True, help="CurveZMQ encryption of the kernel's "
                                   "channels: auto (when both sides support it), required, disabled.")
    batch_tag = Unicode("", config=True, help="Put into the batch name (pyspark-livy--<tag>--...).")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._reset()

    def _reset(self) -> None:
        self.batch_id: int | None = None
        self.batch_name: str | None = None
        self.livy_url: str | None = None
        self._client: LivyClient | None = None
        self._exit_code: int | None = None
        self._polled: tuple[float, int | None] | None = None
        self._last_state: LivyState | None = None
        self._conn: socket.socket | None = None
        self._stop_pings = threading.Event()
        self._env: dict[str, str] = dict(os.environ)

    # -- launch ------------------------------------------------------------------------------
    @property
    def has_process(self) -> bool:
        return self.batch_name is not None and self._exit_code is None

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        kwargs = await super().pre_launch(**kwargs)
        self._env = dict(kwargs.get("env") or os.environ)
        # Informational: the batch runs the launcher; nothing is started locally.
        kwargs["cmd"] = list(self.kernel_spec.argv)
        return kwargs

    def settings(self) -> KernelSettings:
        names = {f.name for f in fields(KernelSettings)} & set(self.trait_names())
        return KernelSettings.resolve({n: getattr(self, n) for n in names}, self._env)

    def _batch_body(self, s: KernelSettings, public_key: str, response: str, cwd: str | None) -> dict[str, Any]:
        launcher_path = stage_file(s.staging_dir, Path(launcher.__file__), "pyspark-livy-launcher")
        shipped = [package_zip(s.staging_dir, package_dir(name)) for name in s.ship_packages]
        uri = lambda p: f"{s.staging_uri}/{p.name}"  # noqa: E731
        args = ["--kernel-id", self.kernel_id, "--response-address", response,
                "--public-key", public_key, "--idle-timeout", str(s.idle_timeout_s)]
        if s.kernel_ip:
            args += ["--ip", s.kernel_ip]
        args += ["--curve", self._curve_policy(s)]
        if cwd:  # Jupyter passes the notebook's directory; used when the driver host has it
            args += ["--cwd", os.path.abspath(cwd)]
        return build_batch_body(
            uri(launcher_path), name=self.batch_name, args=args, conf=s.conf,
            py_files=[*(uri(z) for z in shipped), *s.py_files], driver_memory=s.driver_memory,
            driver_cores=s.driver_cores, executor_memory=s.executor_memory,
            executor_cores=s.executor_cores, num_executors=s.num_executors, queue=s.queue,
            proxy_user=s.proxy_user)

    @staticmethod
    def _curve_policy(s: KernelSettings) -> str:
        """The launcher's --curve: this side's pyzmq must support CurveZMQ too."""
        import zmq
        from jupyter_client.connect import ConnectionFileMixin

        if s.transport_encryption == "disabled":
            return "disabled"
        missing = None
        if not zmq.has("curve"):
            missing = "this side's pyzmq has no CurveZMQ (libzmq without libsodium)"
        elif "curve_publickey" not in ConnectionFileMixin.class_trait_names():
            missing = "this side's jupyter_client (< 8.10) cannot use CurveZMQ keys"
        if missing and s.transport_encryption == "required":
            raise LivyConfigError(f"transport_encryption=required, but {missing}")
        return "disabled" if missing else s.transport_encryption

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> dict[str, Any]:
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        s = self.settings()
        self.livy_url = s.livy_url
        self._client = livy_client_from_env(s.livy_url, self._env)
        private_key = X25519PrivateKey.generate()
        public_key = launcher._b64(private_key.public_key().public_bytes_raw())
        bind_host, advertised = s.response_address()
        listener = socket.create_server((bind_host, s.response_port))
        response = f"{advertised}:{listener.getsockname()[1]}"
        # pyspark-livy--[<tag>--]<kernel id prefix>--<random>: unique per start (restarts too).
        self.batch_name = batch_name([KERNEL_NAME, s.batch_tag, self.kernel_id[:8]], uuid.uuid4().hex)
        try:
            body = self._batch_body(s, public_key, response, kwargs.get("cwd"))
            self.log.info(f"pyspark-livy: submitting batch {self.batch_name} to {s.livy_url} "
                          f"(conf {redact_conf(body.get('conf', {}))}, response socket {response})")
            try:
                batch = await asyncio.to_thread(self._client.submit_batch, body)
            except LivyHTTPError as exc:
                if exc.status_code == 400 and any(
                        m in str(exc) for m in ("cannot be added to user sessions", "whitelist", "absolute")):
                    exc.add_note(f"Livy may not read {s.staging_uri}: set LIVY_STAGING_DIR to a dir in "
                                 "livy.file.local-dir-whitelist (LIVY_STAGING_URI: how Livy names it).")
                raise
            self.batch_id = batch.id
            self.log.info(f"pyspark-livy: batch {self.batch_name} (id {batch.id}) {batch.raw_state}")
            self._conn, report = await self._await_report(listener, private_key, s, batch.state)
            await asyncio.to_thread(self._check_reachable, report)
        except BaseException:
            if self._conn is not None:  # e.g. the report came but its ports are unreachable
                self._conn.close()
                self._conn = None
            await self._delete_batch()
            self._exit_code = self._exit_code if self._exit_code is not None else 1
            raise
        finally:
            listener.close()
        self.log.info(
            f"pyspark-livy: kernel ready in batch {self.batch_name} (id {self.batch_id}) on "
            f"{report.get('host')} {report['ip']}; Spark app {report.get('spark_app_id')}, "
            f"UI {report.get('spark_ui_url')}; channels "
            + ("CurveZMQ-encrypted" if report.get("curve_publickey") else "NOT encrypted"))
        threading.Thread(target=self._ping, args=(self._conn, s.ping_interval_s, self._stop_pings),
                         name=f"pyspark-livy-ping-{self.kernel_id[:8]}", daemon=True).start()
        info = {k: report[k] for k in ("ip", "transport", "shell_port", "iopub_port", "stdin_port",
                                       "control_port", "hb_port", "signature_scheme", "kernel_name")}
        info["key"] = report["key"].encode()
        if report.get("curve_publickey") and report.get("curve_secretkey"):
            # CurveZMQ: the kernel's key pair, used by every client socket (jupyter_client >= 8.10).
            # str, as KernelManager.get_connection_info() gives them (it compares the two).
            info["curve_publickey"] = report["curve_publickey"]
            info["curve_secretkey"] = report["curve_secretkey"]
        self.connection_info = info
        return info

    async def _await_report(
        self, listener: socket.socket, private_key: Any, s: KernelSettings, state: LivyState
    ) -> tuple[socket.socket, dict[str, Any]]:
        """Accept the launcher's report; fail as soon as the batch ends or the start times out."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        next_poll = started + 1.0
        next_note = started + PROGRESS_EVERY_S
        listener.setblocking(False)
        while True:
            try:
                conn, peer = listener.accept()
            except BlockingIOError:
                conn = None
            if conn is not None:
                try:
                    report = await asyncio.to_thread(_read_report, conn, private_key, self.kernel_id)
                    return conn, report
                except Exception as exc:  # noqa: BLE001 (InvalidTag, OSError, JSON errors)
                    # Anybody can connect to the port; only our launcher can seal for our key.
                    self.log.warning(f"pyspark-livy: ignored a bad connection report from {peer}: {exc!r}")
                    conn.close()
            now = loop.time()
            if now >= next_poll:
                next_poll = now + 1.0
                batch = await asyncio.to_thread(self._client.get_batch, self.batch_name)
                if batch.state is not state or now >= next_note:
                    state, next_note = batch.state, now + PROGRESS_EVERY_S
                    self.log.info(f"pyspark-livy: batch {self.batch_name} (id {batch.id}) "
                                  f"{batch.raw_state} after {now - started:.0f}s, waiting for the kernel")
                if state.is_terminal:
                    self._exit_code = _EXIT_CODES.get(state, 1)
                    tail = await asyncio.to_thread(self._log_tail)
                    err = LivyBatchFailedError(state=batch.raw_state, log_tail=tail,
                                               batch_id=batch.id, batch_name=self.batch_name)
                    err.add_note("The pyspark-livy kernel's batch ended before the kernel answered.")
                    raise err
            if now - started >= s.start_timeout_s:
                tail = await asyncio.to_thread(self._log_tail)
                raise LivyTimeoutError(
                    f"pyspark-livy kernel batch {self.batch_name} (id {self.batch_id}) did not "
                    f"answer within {s.start_timeout_s:.0f}s (state {state.value}); batch deleted. "
                    "Log tail:\n" + "\n".join(tail[-20:]),
                    waited_s=now - started, last_state=state.value, batch_id=self.batch_id,
                    batch_name=self.batch_name)
            await asyncio.sleep(0.1)

    def _check_reachable(self, report: dict[str, Any]) -> None:
        """Fail the start clearly when this side cannot reach the kernel's ports on the driver
        host (else the kernel would look started and every cell would hang)."""
        address = (report["ip"], report["hb_port"])
        try:
            socket.create_connection(address, timeout=10).close()
        except OSError as exc:
            raise LivyError(
                f"pyspark-livy kernel in batch {self.batch_name} listens on {report['ip']} (host "
                f"{report.get('host')}), but this side cannot connect to {address[0]}:{address[1]}: {exc}. "
                "Set LIVY_KERNEL_IP to an address of the driver host reachable from here.",
                batch_id=self.batch_id, batch_name=self.batch_name) from exc

    def _log_tail(self) -> list[str]:
        try:
            page = self._client.get_batch_log(self.batch_name, size=-1)
        except LivyError as exc:
            return [f"(driver log unavailable: {exc})"]
        return strip_framing(page.lines)[-LOG_TAIL_LINES:]

    @staticmethod
    def _ping(conn: socket.socket, interval: float, stop: threading.Event) -> None:
        while not stop.wait(interval):
            try:
                conn.sendall(launcher.PING)
            except OSError:
                return

    # -- lifecycle ----------------------------------------------------------------------------
    async def poll(self) -> int | None:
        if self._exit_code is not None or self.batch_name is None:
            return self._exit_code
        now = time.monotonic()
        if self._polled and now - self._polled[0] < POLL_CACHE_S:
            return self._polled[1]
        try:
            state = await asyncio.to_thread(self._client.get_batch_state, self.batch_name)
        except LivyNotFoundError:
            state = LivyState.KILLED  # deleted behind our back
        except LivyConnectionError as exc:
            # Livy unreachable is not a dead kernel: do not make the restarter start another.
            self.log.warning(f"pyspark-livy: cannot poll batch {self.batch_name}: {exc}")
            return None
        code = _EXIT_CODES.get(state) if state.is_terminal else None
        self._polled = (now, code)
        self._last_state = state
        if code is not None:
            self._exit_code = code
        return code

    async def wait(self) -> int | None:
        while (code := await self.poll()) is None:
            await asyncio.sleep(1.0)
        return code

    async def send_signal(self, signum: int) -> None:
        # A remote driver cannot be signalled; interrupts are messages (interrupt_mode=message).
        if signum in (signal.SIGTERM, signal.SIGKILL):
            await self.kill()
        elif signum != 0:
            self.log.warning(f"pyspark-livy: signal {signum} not supported; ignored")

    async def kill(self, restart: bool = False) -> None:
        await self._delete_batch()

    async def terminate(self, restart: bool = False) -> None:
        await self._delete_batch()

    async def cleanup(self, restart: bool = False) -> None:
        self._stop_pings.set()
        if self._conn is not None:
            self._conn.close()
        await self._delete_batch()
        if self._client is not None:
            self._client.close()
        self._reset()  # a restart launches a new batch from this same provisioner

    async def _delete_batch(self) -> None:
        if self.batch_name is None or self._client is None:
            return
        try:
            await asyncio.to_thread(self._client.delete_batch, self.batch_name)
            last = f", last state {self._last_state.value}" if self._last_state else ""
            self.log.info(f"pyspark-livy: deleted batch {self.batch_name} (id {self.batch_id}{last})")
        except LivyError as exc:
            self.log.error(f"pyspark-livy: could not delete batch {self.batch_name}: {exc}")
            return
        if self._exit_code is None:
            self._exit_code = -signal.SIGKILL

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        # Half of it waits for a graceful exit: the driver stops Spark and spark-submit exits.
        return max(recommended, 20.0)

    def get_stable_start_time(self, recommended: float = 10.0) -> float:
        return max(recommended, 30.0)

    async def get_provisioner_info(self) -> dict[str, Any]:
        info = await super().get_provisioner_info()
        info.update(batch_id=self.batch_id, batch_name=self.batch_name, livy_url=self.livy_url)
        return info

    async def load_provisioner_info(self, provisioner_info: dict) -> None:
        await super().load_provisioner_info(provisioner_info)
        self.batch_id = provisioner_info.get("batch_id")
        self.batch_name = provisioner_info.get("batch_name")
        self.livy_url = provisioner_info.get("livy_url")
        if self.livy_url:
            self._client = livy_client_from_env(self.livy_url, self._env)


def _read_report(conn: socket.socket, private_key: Any, kernel_id: str) -> dict[str, Any]:
    """Read one sealed JSON line (10 s at most) and open it."""
    conn.setblocking(True)
    conn.settimeout(10.0)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            raise ValueError("connection closed before a full report")
        data += chunk
        if len(data) > 1 << 20:
            raise ValueError("report too large")
    report = launcher.open_sealed(json.loads(data), private_key, aad=kernel_id.encode())
    if report.get("kernel_id") != kernel_id:
        raise ValueError("report for another kernel")
    conn.settimeout(None)
    return report
