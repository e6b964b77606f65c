"""Ship a pure-Python package to Livy as a pyFiles zip (no Dagster: the Jupyter kernel uses it too)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import zipfile
from pathlib import Path

from dagster_livy.errors import LivyConfigError


def package_dir(name: str) -> Path:
    """The source directory of an importable package (e.g. ``lakehouse_jobs``)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise LivyConfigError(f"cannot ship package {name!r}: it is not an importable package here")
    return Path(list(spec.submodule_search_locations)[0])


def package_zip(staging_dir: Path, package_dir: Path) -> Path:
    """Zip the package into `staging_dir`, named by content hash: idempotent, and a changed
    package never overwrites a zip a running batch is reading."""
    files = sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for p in files:
        digest.update(p.relative_to(package_dir.parent).as_posix().encode())
        digest.update(p.read_bytes())
    target = Path(staging_dir) / f"{package_dir.name}-{digest.hexdigest()[:12]}.zip"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")  # concurrent builders never share a tmp
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in files:
                zf.write(p, p.relative_to(package_dir.parent).as_posix())
        tmp.replace(target)
    return target


def stage_file(staging_dir: Path, source: Path, prefix: str) -> Path:
    """Copy `source` into `staging_dir` as `<prefix>-<content hash><suffix>` (idempotent)."""
    data = Path(source).read_bytes()
    target = Path(staging_dir) / f"{prefix}-{hashlib.sha256(data).hexdigest()[:12]}{Path(source).suffix}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target
