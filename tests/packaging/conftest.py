"""The distribution as a user gets it: the sdist and the wheel built from it, installed into
fresh virtualenvs (no --system-site-packages: what a venv lacks is really absent; not even pip is
installed into them, the installers run from outside).

`pip_install` is the project venv's pip aimed at the fresh venv (`pip --python`), sharing pip's
cache (~/.cache/pip) with `make venv`. `uv_install` is uv (the `test` extra), which resolves the
same requirements from the same index and installs from its own cache (~/.cache/uv) by copying
unpacked files: a Dagster venv in a few seconds where pip takes ~20s. Without uv it falls back to pip.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO


def run(cmd: list[str], *, timeout: float = 900, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONNOUSERSITE": "1",
           **kw.pop("env", {})}
    env.pop("PYTHONPATH", None)  # the fresh venv must not see the checkout
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, **kw)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path


@dataclass
class Venv:
    path: Path

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    def pip_install(self, *requirements: str) -> float:
        """pip install into this venv; returns the seconds it took (printed as a figure).
        --no-compile: byte-compiling all of Dagster's dependencies is most of the CPU time, and
        the imports here compile what they use anyway."""
        began = time.monotonic()
        run([sys.executable, "-m", "pip", "--python", self.python, "install", "-q", "--no-compile",
             *requirements])
        return time.monotonic() - began

    def uv_install(self, *requirements: str) -> float:
        """uv pip install into this venv (pip when uv is not installed); returns the seconds."""
        if importlib.util.find_spec("uv") is None:
            return self.pip_install(*requirements)
        from uv import find_uv_bin

        began = time.monotonic()
        # uv reads no pip configuration: hand it the CA bundle and index pip is told to use, and
        # trust the system's certificates as pip does (uv's own default is a bundled Mozilla set,
        # which a TLS-intercepting proxy's CA is not in). UV_NATIVE_TLS: the older uv's name.
        env = {"UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never", "UV_SYSTEM_CERTS": "1",
               "UV_NATIVE_TLS": "1"}
        if os.environ.get("PIP_CERT") and not os.environ.get("SSL_CERT_FILE"):
            env["SSL_CERT_FILE"] = os.environ["PIP_CERT"]
        if os.environ.get("PIP_INDEX_URL"):
            env["UV_DEFAULT_INDEX"] = os.environ["PIP_INDEX_URL"]
        try:
            run([find_uv_bin(), "pip", "install", "-q", "--python", self.python, *requirements],
                cwd=self.path, env=env)
        except (AssertionError, OSError, FileNotFoundError) as e:
            # uv is only a faster installer: a machine whose index, mirror or certificates only
            # pip is configured for still gets the same venv (what is tested is the install).
            print(f"\nuv could not install ({str(e).strip().splitlines()[-1][:200]}); falling back to pip")
            return self.pip_install(*requirements)
        return time.monotonic() - began

    def py(self, code: str, **kw) -> subprocess.CompletedProcess:
        """Run `code` with this venv's Python, outside the checkout (cwd: the venv)."""
        return run([self.python, "-c", code], cwd=self.path, **kw)

    def installed(self) -> set[str]:
        """The distributions in this venv, by canonical name (PEP 503: `jupyter_client` is
        `jupyter-client`), so a name asserted absent cannot be missed for its spelling."""
        out = self.py("import importlib.metadata as m; "
                      "print('\\n'.join(sorted(d.metadata['Name'] for d in m.distributions())))")
        return {re.sub(r"[-_.]+", "-", name).lower() for name in out.stdout.split()}


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> Dist:
    """`python -m build`: the sdist, then the wheel built from the unpacked sdist (so the sdist is
    proven complete). --no-isolation: setuptools and wheel come from the project's venv."""
    out = tmp_path_factory.mktemp("dist")
    began = time.monotonic()
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)])
    print(f"\nFIGURE sdist + wheel built in {time.monotonic() - began:.1f}s")
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return Dist(wheel=wheels[0], sdist=sdists[0])


@pytest.fixture(scope="session")
def new_venv(tmp_path_factory):
    def make(name: str) -> Venv:
        path = tmp_path_factory.mktemp(name)
        # --without-pip: ensurepip costs 3-10 s a venv here; the installers run from outside.
        run([sys.executable, "-m", "venv", "--without-pip", str(path)])
        return Venv(path)
    return make
