"""The distribution as a user gets it: the sdist and the wheel built from it, installed into
fresh virtualenvs (no --system-site-packages: what a venv lacks is really absent).

Pip's cache (~/.cache/pip) is shared with the project's own venv, so the installs resolve from
PyPI's index but download nothing already fetched by `make venv`.
"""

from __future__ import annotations

import os
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
        run([self.python, "-m", "pip", "install", "-q", "--no-compile", *requirements])
        return time.monotonic() - began

    def py(self, code: str, **kw) -> subprocess.CompletedProcess:
        """Run `code` with this venv's Python, outside the checkout (cwd: the venv)."""
        return run([self.python, "-c", code], cwd=self.path, **kw)

    def installed(self) -> set[str]:
        out = self.py("import importlib.metadata as m; "
                      "print('\\n'.join(sorted(d.metadata['Name'].lower() for d in m.distributions())))")
        return set(out.stdout.split())


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
        run([sys.executable, "-m", "venv", str(path)])
        return Venv(path)
    return make
