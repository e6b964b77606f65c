"""Ship the shared transformation package (spark_scripts/lakehouse_jobs) to Livy as pyFiles.

The zip builder lives in the Dagster-free `dagster_livy.packaging` (the Jupyter kernel ships the
same package); this keeps the lakehouse's default package.
"""

from __future__ import annotations

from pathlib import Path

from dagster_livy import packaging
from dagster_livy.lakehouse.settings import REPO

PACKAGE_DIR = REPO / "spark_scripts" / "lakehouse_jobs"


def package_zip(staging_dir: Path, package_dir: Path = PACKAGE_DIR) -> Path:
    """Zip `package_dir` (default lakehouse_jobs) into `staging_dir`, named by content hash."""
    return packaging.package_zip(staging_dir, package_dir)
