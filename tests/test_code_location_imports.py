"""The Dagster code location loads without pyspark: it needs only the contract's plain names."""

import subprocess
import sys


def test_definitions_load_without_importing_pyspark():
    code = ("import sys, dagster_livy.lakehouse.definitions as d; d.defs.get_repository_def(); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')); "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
