"""Ship the shared transformation package (spark_scripts/lakehouse_jobs) to Livy as pyFiles."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from dagster_livy.lakehouse.settings import REPO

PACKAGE_DIR = REPO / "spark_scripts" / "lakehouse_jobs"


def package_zip(staging_dir: Path, package_dir: Path = PACKAGE_DIR) -> Path:
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
        tmp = target.with_suffix(".tmp")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in files:
                zf.write(p, p.relative_to(package_dir.parent).as_posix())
        tmp.replace(target)
    return target
