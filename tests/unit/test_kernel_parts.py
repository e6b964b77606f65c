"""The pyspark-livy kernel's pure parts: the sealed connection report, settings from the
kernelspec and environment, the kernelspec, the entry point, and the no-Dagster rule."""

from __future__ import annotations

import socket
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from dagster_livy.errors import LivyConfigError
from dagster_livy.jupyter import launcher
from dagster_livy.jupyter.kernelspec import kernelspec
from dagster_livy.jupyter.settings import KernelSettings

REPORT = {"kernel_id": "k1", "key": "s3cr3t-hmac-key", "shell_port": 5}


def _keypair():
    private = X25519PrivateKey.generate()
    return private, launcher._b64(private.public_key().public_bytes_raw())


def test_sealed_report_opens_only_with_the_private_key_and_kernel_id():
    private, public = _keypair()
    sealed = launcher.seal(REPORT, public, aad=b"k1")
    assert "s3cr3t" not in str(sealed)
    assert launcher.open_sealed(sealed, private, aad=b"k1") == REPORT
    with pytest.raises(Exception):  # another kernel's report
        launcher.open_sealed(sealed, private, aad=b"k2")
    with pytest.raises(Exception):  # somebody else's key
        launcher.open_sealed(sealed, _keypair()[0], aad=b"k1")
    tampered = dict(sealed, ct=launcher._b64(b"x" * 40))
    with pytest.raises(Exception):
        launcher.open_sealed(tampered, private, aad=b"k1")


def test_settings_env_overrides_kernelspec_config(tmp_path):
    config = {"conf": {"spark.a": "1", "spark.b": "2"}, "py_files": ["file:///x.zip"], "driver_memory": "1g"}
    env = {"LIVY_URL": "http://livy:8998/", "LIVY_STAGING_DIR": str(tmp_path),
           "LIVY_KERNEL_CONF": '{"spark.b": "3"}', "LIVY_KERNEL_DRIVER_MEMORY": "2g",
           "LIVY_KERNEL_PY_FILES": "file:///y.zip", "LIVY_KERNEL_IDLE_TIMEOUT_S": "60",
           "LIVY_KERNEL_EXECUTOR_CORES": "2", "LIVY_KERNEL_BATCH_TAG": "report--2025-01-02"}
    s = KernelSettings.resolve(config, env)
    assert s.livy_url == "http://livy:8998"
    assert s.conf == {"spark.a": "1", "spark.b": "3"}
    assert s.driver_memory == "2g" and s.executor_cores == 2
    assert s.py_files == ["file:///x.zip", "file:///y.zip"]
    assert s.idle_timeout_s == 60.0 and s.batch_tag == "report--2025-01-02"
    assert s.staging_uri == tmp_path.as_uri()
    assert KernelSettings.resolve({}, {**env, "LIVY_STAGING_URI": "hdfs:///stage/"}).staging_uri == "hdfs:///stage"


@pytest.mark.parametrize("var, value", [
    ("LIVY_KERNEL_CONF", "not json"), ("LIVY_KERNEL_CONF", "[1]"), ("LIVY_KERNEL_DRIVER_CORES", "two"),
    ("LIVY_KERNEL_IDLE_TIMEOUT_S", "-1"), ("LIVY_KERNEL_RESPONSE_PORT", "70000"),
    ("LIVY_KERNEL_TRANSPORT_ENCRYPTION", "yes"),
])
def test_bad_environment_values_name_the_variable(var, value):
    with pytest.raises(LivyConfigError, match=var):
        KernelSettings.resolve({}, {var: value})


def test_idle_timeout_must_outlast_the_pings():
    with pytest.raises(LivyConfigError, match="ping_interval_s"):
        KernelSettings.resolve({"idle_timeout_s": 15.0, "ping_interval_s": 10.0}, {})
    assert KernelSettings.resolve({"idle_timeout_s": 0.0}, {}).idle_timeout_s == 0.0  # never


def test_response_socket_is_loopback_for_a_local_livy():
    s = KernelSettings.resolve({}, {"LIVY_URL": "http://127.0.0.1:8998"})
    assert s.response_address() == ("127.0.0.1", "127.0.0.1")
    s = KernelSettings.resolve({}, {"LIVY_URL": "http://livy:8998", "LIVY_KERNEL_RESPONSE_HOST": "10.0.0.5"})
    assert s.response_address() == ("10.0.0.5", "10.0.0.5")


def _route_to_test_net() -> str:
    """This host's address towards TEST-NET-1 (nothing is sent), or skip without any route."""
    try:
        own = launcher.source_address("192.0.2.1")
    except OSError as exc:
        pytest.skip(f"no non-loopback route on this machine: {exc}")
    return own


def test_remote_livy_gets_the_routed_address_not_the_fqdn_nor_all_interfaces():
    own = _route_to_test_net()
    s = KernelSettings.resolve({}, {"LIVY_URL": "http://192.0.2.1:8998"})
    bind, advertised = s.response_address()
    assert bind == advertised == own and bind != "0.0.0.0"
    assert not bind.startswith("127."), "a remote driver cannot connect back to a loopback address"
    with socket.socket() as probe:  # an address of this host: it can be bound
        probe.bind((bind, 0))
    print(f"response socket for a remote Livy: bind/advertise {bind}")


def test_kernel_ports_bind_one_interface_towards_the_jupyter_side():
    assert launcher.kernel_addresses("", "", "", "127.0.0.1") == ("127.0.0.1", "127.0.0.1")
    assert launcher.kernel_addresses("", "127.0.0.1", "", "192.0.2.1") == ("127.0.0.1", "127.0.0.1")
    assert launcher.kernel_addresses("", "", "kernel.example", "127.0.0.1") == ("127.0.0.1", "kernel.example")
    own = _route_to_test_net()
    assert launcher.kernel_addresses("", "", "", "192.0.2.1") == (own, own)
    assert launcher.kernel_addresses("0.0.0.0", "", "", "192.0.2.1") == ("0.0.0.0", own)
    print(f"kernel ports: loopback for a loopback Jupyter side, {own} towards a remote one")


def test_kernelspec_uses_the_registered_provisioner_with_message_interrupts():
    spec = kernelspec({"idle_timeout_s": 120.0})
    assert spec["display_name"] == "PySpark on Livy" and spec["interrupt_mode"] == "message"
    prov = spec["metadata"]["kernel_provisioner"]
    assert prov["config"]["idle_timeout_s"] == 120.0
    eps = entry_points(group="jupyter_client.kernel_provisioners")
    [ep] = [e for e in eps if e.name == prov["provisioner_name"]]
    assert ep.load().__name__ == "LivyProvisioner"
    # every config key is a trait of the provisioner
    traits = set(ep.load().class_trait_names(config=True))
    assert set(prov["config"]) <= traits


def test_jupyter_layer_does_not_import_dagster():
    code = ("import sys, dagster_livy.jupyter.provisioner, dagster_livy.jupyter.kernelspec; "
            "bad = [m for m in sys.modules if m == 'dagster' or m.startswith(('dagster.', 'dagster_livy.lakehouse'))]; "
            "sys.exit(', '.join(bad) or None)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_launcher_rejects_a_malformed_response_address():
    with pytest.raises(ValueError, match="host:port"):
        launcher._split_address("nohostport")
    assert launcher._split_address("[::1]:4000") == ("::1", 4000)


def test_old_packaging_import_still_builds_the_same_zip(tmp_path):
    from dagster_livy import packaging
    from dagster_livy.lakehouse.packaging import PACKAGE_DIR, package_zip
    assert package_zip(tmp_path) == packaging.package_zip(tmp_path, packaging.package_dir("lakehouse_jobs"))
    assert Path(packaging.package_dir("lakehouse_jobs")).resolve() == PACKAGE_DIR.resolve()


def test_start_fails_clearly_when_the_kernel_ports_are_unreachable():
    import socket

    from jupyter_client.kernelspec import KernelSpec

    from dagster_livy.errors import LivyError
    from dagster_livy.jupyter.provisioner import LivyProvisioner

    with socket.socket() as s:  # a port nothing listens on: connecting is refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    prov = LivyProvisioner(kernel_id="k1", kernel_spec=KernelSpec(**kernelspec()))
    prov.batch_name = "pyspark-livy--k1--x"
    with pytest.raises(LivyError, match=f"cannot connect to 127.0.0.1:{port}.*LIVY_KERNEL_IP"):
        prov._check_reachable({"ip": "127.0.0.1", "hb_port": port, "host": "driver"})
    with socket.create_server(("127.0.0.1", 0)) as srv:  # and passes when the port answers
        prov._check_reachable({"ip": "127.0.0.1", "hb_port": srv.getsockname()[1]})
