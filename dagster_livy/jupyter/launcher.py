"""The file of a pyspark-livy batch: runs an IPython kernel inside the Spark driver.

Livy starts this script with spark-submit like any batch. It creates the SparkSession (the
batch's conf, master and pyFiles), starts ipykernel's ``IPKernelApp`` in this very process (so
``spark`` in the notebook is the driver's session), binds the five kernel ports on the driver
host, and reports them to the Jupyter side over the provisioner's *response socket*.

Nothing secret crosses Livy: the batch arguments (visible in Livy's log and in process lists)
carry only the provisioner's X25519 *public* key and response address. The launcher generates
the kernel's HMAC key itself and sends the connection info sealed for that public key
(ephemeral X25519 + HKDF-SHA256 + AES-256-GCM, the kernel id as associated data). The key is
never printed. After the report the connection stays open: the provisioner pings it, and when
nothing has been heard from the Jupyter side for ``--idle-timeout`` seconds the kernel stops
the Spark session and exits, so an orphaned kernel never holds a batch forever. And when the batch is
deleted (Livy kills spark-submit's JVM, not this process) ``watch_parent`` exits the driver.

Imports only the standard library at module level (the provisioner imports :func:`open_sealed`
from here); the driver also needs ``ipykernel``, ``pyspark`` and ``cryptography``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from typing import Any

WIRE_VERSION = 1
_HKDF_INFO = b"pyspark-livy connection info v1"
PING = b"ping\n"
# Exit status of a kernel stopped by the idle watchdog (the batch ends `dead`, visibly not a
# normal shutdown, with the reason as the last log line).
IDLE_EXIT = 3
# Exit status of a kernel whose spark-submit JVM is gone (the batch was deleted): `watch_parent`.
PARENT_GONE_EXIT = 4


# -- the sealed connection report (shared with the provisioner) ----------------------------------
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _aead_key(shared_secret: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(shared_secret)


def seal(payload: dict[str, Any], public_key_b64: str, aad: bytes) -> dict[str, Any]:
    """Encrypt ``payload`` (JSON) for the holder of the X25519 private key of ``public_key_b64``."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    peer = X25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    ephemeral = X25519PrivateKey.generate()
    nonce = os.urandom(12)
    ct = AESGCM(_aead_key(ephemeral.exchange(peer))).encrypt(nonce, json.dumps(payload).encode(), aad)
    return {"v": WIRE_VERSION, "epk": _b64(ephemeral.public_key().public_bytes_raw()),
            "nonce": _b64(nonce), "ct": _b64(ct)}


def open_sealed(message: dict[str, Any], private_key: Any, aad: bytes) -> dict[str, Any]:
    """Decrypt a :func:`seal` message with an ``X25519PrivateKey``; raises on any tampering."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    if message.get("v") != WIRE_VERSION:
        raise ValueError(f"unsupported connection report version {message.get('v')!r}")
    epk = X25519PublicKey.from_public_bytes(base64.b64decode(message["epk"]))
    key = _aead_key(private_key.exchange(epk))
    plain = AESGCM(key).decrypt(base64.b64decode(message["nonce"]), base64.b64decode(message["ct"]), aad)
    return json.loads(plain)


# -- launcher ------------------------------------------------------------------------------------
class _Log:
    """Progress lines for the batch log, written to a duplicate of the original stdout: once the
    kernel runs, ipykernel captures fd 1/2 and sends them to the notebook instead."""

    def __init__(self) -> None:
        self._fd = os.dup(1)

    def __call__(self, message: str) -> None:
        os.write(self._fd, f"pyspark-livy launcher: {message}\n".encode())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="pyspark-livy-launcher", description=__doc__.split("\n\n")[0])
    p.add_argument("--kernel-id", required=True)
    p.add_argument("--response-address", required=True, help="host:port of the provisioner")
    p.add_argument("--public-key", required=True, help="the provisioner's X25519 public key (base64)")
    p.add_argument("--idle-timeout", type=float, default=3600.0,
                   help="exit when the Jupyter side is silent this long (seconds; 0 = never)")
    p.add_argument("--ip", default="", help="bind address of the kernel ports on the driver host "
                   "(default spark.driver.host, else this host's address towards the response address)")
    p.add_argument("--curve", choices=("auto", "required", "disabled"), default="disabled",
                   help="CurveZMQ encryption of the kernel's channels (key pair made here, sent sealed)")
    p.add_argument("--cwd", default="", help="working directory for the kernel, if it exists on "
                   "this host (the notebook's directory when the driver runs on the Jupyter machine)")
    p.add_argument("--advertise", default="", help="address the Jupyter side connects to "
                   "(default the bind address; with --ip 0.0.0.0 this host's address towards the response address)")
    return p.parse_args(argv)


def _split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--response-address must be host:port, got {address!r}")
    return host.strip("[]"), int(port)


def source_address(host: str, port: int = 9) -> str:
    """This host's address on its route towards ``host``: one a peer there can connect back to
    (unlike the FQDN's address, 127.0.1.1 on a default Debian /etc/hosts). A UDP connect sends
    nothing; it only picks the route."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((socket.gethostbyname(host), port))
        return s.getsockname()[0]


def kernel_addresses(ip: str, driver_host: str, advertise: str, response_host: str) -> tuple[str, str]:
    """(bind, advertise) of the kernel ports: ``--ip``, else spark.driver.host, else this driver
    host's address towards the Jupyter side (its response address) -- one interface, not all."""
    bind = ip or driver_host or source_address(response_host)
    if bind not in ("0.0.0.0", "*"):
        bind = socket.gethostbyname(bind)
    advertise = advertise or (source_address(response_host) if bind in ("0.0.0.0", "*") else bind)
    return bind, advertise


def _addresses(args: argparse.Namespace, spark: Any, response_host: str) -> tuple[str, str]:
    bind, advertise = kernel_addresses(args.ip, spark.conf.get("spark.driver.host", ""), args.advertise,
                                       response_host)
    # Fail here, with a clear message, rather than deep inside zmq.
    with socket.socket() as probe:
        try:
            probe.bind((bind if bind != "*" else "0.0.0.0", 0))
        except OSError as exc:
            raise OSError(f"cannot bind the kernel ports to {bind!r} on this driver host: {exc}") from exc
    return bind, advertise


def _curve_keys(policy: str, log: _Log) -> dict[str, str]:
    """A CurveZMQ key pair for the kernel's sockets, if asked for and this pyzmq supports it."""
    if policy == "disabled":
        return {}
    import zmq
    if not zmq.has("curve"):
        if policy == "required":
            raise RuntimeError("--curve required, but this driver's pyzmq has no CurveZMQ (libsodium)")
        log("this driver's pyzmq has no CurveZMQ: the kernel's channels are not encrypted")
        return {}
    public, secret = zmq.curve_keypair()
    return {"curve_publickey": public.decode("ascii"), "curve_secretkey": secret.decode("ascii")}


def _write_connection_file(directory: str, ip: str, key: str, curve: dict[str, str]) -> str:
    """A 0600 connection file with ports 0: ipykernel binds free ports and fills them in."""
    path = os.path.join(directory, "kernel.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"ip": ip, "transport": "tcp", "key": key, "signature_scheme": "hmac-sha256",
                   "shell_port": 0, "iopub_port": 0, "stdin_port": 0, "control_port": 0,
                   "hb_port": 0, "kernel_name": "pyspark-livy", **curve}, f)
    return path


def _install_interrupt(kernel: Any, spark: Any) -> None:
    """A message-mode interrupt makes ipykernel SIGINT this process; while a cell runs, also
    cancel the Spark jobs it started (what the pyspark shell's own SIGINT handler does)."""
    def on_sigint(signum: int, frame: Any) -> None:
        threading.Thread(target=spark.sparkContext.cancelAllJobs, daemon=True).start()
        raise KeyboardInterrupt

    def pre_handler_hook() -> None:
        kernel.saved_sigint_handler = signal.signal(signal.SIGINT, on_sigint)

    kernel.pre_handler_hook = pre_handler_hook


class Watchdog(threading.Thread):
    """Reads the provisioner's pings; stops the kernel after ``idle_timeout`` of silence."""

    def __init__(self, sock: socket.socket, idle_timeout: float, on_idle: Any, log: _Log) -> None:
        super().__init__(name="pyspark-livy-watchdog", daemon=True)
        self.sock, self.idle_timeout, self.on_idle, self.log = sock, idle_timeout, on_idle, log
        self.last_contact = time.monotonic()

    def run(self) -> None:
        self.sock.settimeout(min(5.0, self.idle_timeout))
        connected = True
        while True:
            if connected:
                try:
                    data = self.sock.recv(4096)
                    if data:
                        self.last_contact = time.monotonic()
                    else:
                        connected = False
                        self.log("the Jupyter side closed its connection; the kernel stops "
                                 f"after {self.idle_timeout:.0f}s without contact")
                except socket.timeout:
                    pass
                except OSError:
                    connected = False
            else:
                time.sleep(1.0)
            silent = time.monotonic() - self.last_contact
            if silent >= self.idle_timeout:
                self.log(f"no contact from the Jupyter side for {silent:.0f}s "
                         f"(idle timeout {self.idle_timeout:.0f}s): stopping the kernel")
                self.on_idle()
                return


def watch_parent(cleanup: Any = None, interval_s: float = 0.5) -> threading.Thread | None:
    """Exit this driver (PARENT_GONE_EXIT) once the spark-submit JVM that started it is gone.

    `DELETE /batches/{id}` kills spark-submit's JVM, not the Python driver Spark's PythonRunner
    started as its child: reparented, an idle kernel would live until its idle timeout. A daemon
    thread remembers os.getppid() and, when it changes, says so on stderr, runs the cheap,
    Spark-free `cleanup()` (best effort) and exits. Armed only when a JVM launched this process
    (PythonRunner sets PYSPARK_GATEWAY_PORT for its child). In YARN/Kubernetes cluster mode the
    parent is the AM / the pod's spark-submit JVM, whose death ends the driver anyway.

    A copy of spark_scripts/lakehouse_jobs/parentwatch.py: this launcher is staged as one file and
    runs whether or not that package is shipped, which in turn may not import dagster_livy (not on
    the driver). Keep the two alike (tests/unit/test_parentwatch.py runs both).
    """
    parent = os.getppid()
    if "PYSPARK_GATEWAY_PORT" not in os.environ or parent <= 1:
        return None

    def run() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        message = (f"spark-submit (pid {parent}) is gone: the batch was deleted or its JVM died; "
                   f"exiting the driver (pid {os.getpid()})\n")
        try:  # the JVM read our stderr: this pipe is most likely closed now
            os.write(2, message.encode())
        except OSError:
            pass
        try:
            if cleanup is not None:
                cleanup()
        finally:
            os._exit(PARENT_GONE_EXIT)

    thread = threading.Thread(target=run, name="spark-submit-watchdog", daemon=True)
    thread.start()
    return thread


def _run_kernel(args: argparse.Namespace, spark: Any, log: _Log, bind: str, advertise: str, key: str,
                workdir: str, response: tuple[str, int]) -> None:
    """Start the kernel, report to the Jupyter side, serve until shutdown (or the idle timeout)."""
    curve = _curve_keys(args.curve, log)
    connection_file = _write_connection_file(workdir, bind, key, curve)

    from ipykernel.kernelapp import IPKernelApp
    app = IPKernelApp.instance(connection_file=connection_file)
    app.initialize([])
    app.shell.user_ns.update(spark=spark, sc=spark.sparkContext)
    _install_interrupt(app.kernel, spark)
    if curve and getattr(app, "curve_secretkey", None) is None:
        # An ipykernel before 7.4 ignores the Curve keys: report none, or the client would
        # encrypt towards a plain-TCP kernel and never connect.
        if args.curve == "required":
            raise RuntimeError("--curve required, but this driver's ipykernel does not support CurveZMQ")
        log("this driver's ipykernel ignores CurveZMQ keys: the kernel's channels are not encrypted")
        curve = {}
    ports = {name: getattr(app, name) for name in
             ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")}
    report = {"kernel_id": args.kernel_id, "ip": advertise, "transport": "tcp", "key": key,
              "signature_scheme": "hmac-sha256", "kernel_name": "pyspark-livy", **ports, **curve,
              "host": socket.getfqdn(), "pid": os.getpid(),
              "spark_app_id": spark.sparkContext.applicationId,
              "spark_ui_url": spark.sparkContext.uiWebUrl}
    sealed = seal(report, args.public_key, aad=args.kernel_id.encode())
    try:
        sock = socket.create_connection(response, timeout=30)
    except OSError as exc:
        raise OSError(f"cannot reach the Jupyter side at {response[0]}:{response[1]} from this driver "
                      f"host ({exc}); set LIVY_KERNEL_RESPONSE_HOST to an address it can reach") from exc
    sock.sendall(json.dumps(sealed).encode() + b"\n")
    log(f"kernel listening on {advertise} ({bind}) ports {sorted(ports.values())}"
        f"{' with CurveZMQ' if curve else ''}; connection info sent (encrypted) to "
        f"{response[0]}:{response[1]}")

    def stop_idle() -> None:
        try:
            spark.sparkContext.cancelAllJobs()
            spark.stop()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            os._exit(IDLE_EXIT)

    if args.idle_timeout > 0:
        Watchdog(sock, args.idle_timeout, stop_idle, log).start()
    try:
        app.start()
    finally:
        log("kernel shut down; stopping the Spark session")
        sock.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = _Log()
    response_host, response_port = _split_address(args.response_address)
    leftovers: list[str] = []  # removed by the parent watchdog too: the connection file holds keys
    watch_parent(lambda: [shutil.rmtree(d, ignore_errors=True) for d in leftovers])
    log(f"kernel {args.kernel_id}: starting the Spark session")
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.getOrCreate()
    bind, advertise = _addresses(args, spark, response_host)
    if args.cwd:
        if os.path.isdir(args.cwd):
            os.chdir(args.cwd)
        else:
            log(f"working directory {args.cwd} does not exist on this host; staying in {os.getcwd()}")
    key = secrets.token_hex(32)
    workdir = tempfile.mkdtemp(prefix="pyspark-livy-")  # 0700: the connection file holds the keys
    leftovers.append(workdir)
    try:
        _run_kernel(args, spark, log, bind, advertise, key, workdir, (response_host, response_port))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        try:  # a failing stop must not replace the kernel's own error
            spark.stop()
        except Exception as exc:  # noqa: BLE001
            log(f"stopping the Spark session failed: {exc!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
