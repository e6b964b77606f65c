"""Resolve the Livy server's jars from Maven Central (livy/pom.xml) and guard the classpath.

Standard library only; used by livy/livyctl.py (`jars`, `up`) and the Livy image build.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

from livyconf import LIVY_DIR, Layout, StackError


def scala_versions(jar_names: list[str]) -> set[str]:
    """Scala binary versions named by `_2.xx` artifact suffixes and scala-library itself."""
    found = {m.group(1) for n in jar_names for m in [re.search(r"_(2\.1[0-3])-", n)] if m}
    found |= {m.group(1) for n in jar_names for m in [re.match(r"scala-library-(2\.1[0-3])\.", n)] if m}
    return found


def check_server_classpath(jars_dir: Path) -> str:
    """The published Livy POMs default ${scala.binary.version} to 2.11: a naive resolve can put
    Scala 2.11 libraries beside a 2.12 server. One Scala binary version, or refuse to start."""
    names = sorted(p.name for p in jars_dir.glob("*.jar"))
    if not any(n.startswith("livy-server-") for n in names):
        raise StackError(f"no livy-server jar in {jars_dir}")
    versions = scala_versions(names)
    if len(versions) != 1:
        offenders = [n for n in names if re.search(r"_2\.1[0-3]-|scala-library", n)]
        raise StackError(
            f"the Livy server classpath {jars_dir} mixes Scala binary versions {sorted(versions)}: "
            + ", ".join(offenders)
        )
    return versions.pop()


def cmd_jars(layout: Layout) -> None:
    if layout.dist:
        jars = layout.dist / "jars"
        if not jars.is_dir():
            raise StackError(f"LIVY_DIST={layout.dist} has no jars/ directory (unpack the binary zip there)")
        scala = check_server_classpath(jars)
        print(f"using Livy distribution {layout.dist} (server Scala {scala})")
    pom = LIVY_DIR / "pom.xml"
    stamp = layout.local_dir / ".jars.sha256"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    have = stamp.exists() and stamp.read_text().strip() == digest
    if not have or not any(layout.spark_jars_dir.glob("iceberg-spark-runtime-*.jar")):
        if not shutil.which("mvn"):
            raise StackError("Maven (mvn) is not on PATH; install Maven 3.8+ to resolve the Livy jars")
        print("resolving Livy and Spark-side jars from Maven Central ...", flush=True)
        for sub in ("jars", "rsc-jars", "spark-jars"):
            shutil.rmtree(layout.local_dir / sub, ignore_errors=True)
        proc = subprocess.run(
            ["mvn", "-q", "-B", "-f", str(pom), "package", f"-Dlivy.home={layout.local_dir}"],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
            raise StackError(f"Maven could not resolve the Livy jars (exit {proc.returncode}):\n{tail}")
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest + "\n")
    if not layout.dist:
        scala = check_server_classpath(layout.local_dir / "jars")
        print(f"Livy jars ready in {layout.local_dir} (server Scala {scala})")
