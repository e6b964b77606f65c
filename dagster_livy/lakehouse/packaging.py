"""Ship the shared transformation package (lakehouse_jobs) to Livy as pyFiles.

The zip builder lives in the Dagster-free `dagster_livy.packaging` (the Jupyter kernel ships the
same package); this keeps the lakehouse's default package: `lakehouse_jobs` where Python imports
it from (spark_scripts/lakehouse_jobs in a checkout, site-packages in a wheel install).
"""

from __future__ import annotations

from pathlib import Path

from dagster_livy import packaging

PACKAGE_DIR = packaging.package_dir("lakehouse_jobs")


def package_zip(staging_dir: Path, package_dir: Path = PACKAGE_DIR) -> Path:
    """Zip `package_dir` (default lakehouse_jobs) into `staging_dir`, named by content hash."""
    return packaging.package_zip(staging_dir, package_dir)
