"""papermill drives the pyspark-livy kernel like a notebook asset will: parameters injected, a
failing cell fails the run with that cell's error (kept in the output notebook), no batch left."""

from __future__ import annotations

import nbformat
import papermill as pm
import pytest

from tests.conftest import kernel_batches

pytestmark = pytest.mark.integration


def test_papermill_runs_a_parameterized_notebook_and_reports_the_failing_cell(kernel_env, livy, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "pyspark-livy", "display_name": "PySpark on Livy", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("run_date = '2000-01-01'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print('rows', run_date, spark.range(42).count())"),
        nbformat.v4.new_code_cell("raise ValueError(f'no silver rows for {run_date}')"),
        nbformat.v4.new_code_cell("print('never runs')"),
    ]
    src, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, src)
    with pytest.raises(pm.PapermillExecutionError) as info:
        pm.execute_notebook(str(src), str(out), parameters={"run_date": "2025-01-02"},
                            kernel_name="pyspark-livy", progress_bar=False)
    assert info.value.ename == "ValueError" and info.value.evalue == "no silver rows for 2025-01-02"
    executed = nbformat.read(out, as_version=4)
    texts = ["".join(o.get("text", "") for o in c.get("outputs", [])) for c in executed.cells]
    assert "rows 2025-01-02 42" in "".join(texts)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert [e["ename"] for e in errors] == ["ValueError"]
    assert kernel_batches(livy) == []  # ended and deleted, not merely ended
