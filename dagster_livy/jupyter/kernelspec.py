"""Install the `pyspark-livy` kernelspec (``python -m dagster_livy.jupyter.kernelspec install``).

The spec names the `livy-provisioner` (entry point ``jupyter_client.kernel_provisioners``) with
its default config; ``argv`` is informational (the launcher runs in the batch, not locally).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from dagster_livy.jupyter import DISPLAY_NAME, KERNEL_NAME, PROVISIONER_NAME

DEFAULT_CONFIG: dict[str, Any] = {
    "conf": {},
    "driver_memory": None,
    "executor_memory": None,
    "driver_cores": None,
    "executor_cores": None,
    "num_executors": None,
    "py_files": [],
    "ship_packages": ["lakehouse_jobs"],
    "idle_timeout_s": 3600.0,
    "start_timeout_s": 300.0,
    "transport_encryption": "auto",
}


def kernelspec(config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The kernel.json content."""
    cfg = {k: v for k, v in {**DEFAULT_CONFIG, **(config or {})}.items() if v is not None}
    return {
        "argv": ["python", "-m", "dagster_livy.jupyter.launcher", "--kernel-id", "{kernel_id}",
                 "--response-address", "<provisioner>", "--public-key", "<provisioner>"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "interrupt_mode": "message",
        "env": {},
        "metadata": {
            "debugger": False,
            # The launcher provisions CurveZMQ keys itself (transport_encryption in the config).
            "supported_encryption": ["curve"],
            "kernel_provisioner": {"provisioner_name": PROVISIONER_NAME, "config": cfg},
        },
    }


def install(prefix: str | None = None, config: dict[str, Any] | None = None) -> str:
    """Install (or replace) the spec under ``prefix`` (default: this interpreter's sys.prefix)."""
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / KERNEL_NAME
        src.mkdir()
        (src / "kernel.json").write_text(json.dumps(kernelspec(config), indent=1) + "\n")
        return KernelSpecManager().install_kernel_spec(
            str(src), KERNEL_NAME, prefix=prefix or sys.prefix)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dagster_livy.jupyter.kernelspec")
    sub = p.add_subparsers(dest="cmd", required=True)
    inst = sub.add_parser("install", help="install the pyspark-livy kernelspec")
    inst.add_argument("--prefix", default=None, help="install prefix (default sys.prefix)")
    inst.add_argument("--config", default=None, help="JSON object overriding the provisioner config")
    args = p.parse_args(argv)
    path = install(args.prefix, json.loads(args.config) if args.config else None)
    print(f"installed kernelspec {KERNEL_NAME} ({DISPLAY_NAME}) in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
