"""Notebooks as daily-partitioned Dagster assets, executed by papermill on a Jupyter kernel.

With the ``pyspark-livy`` kernel (dagster_livy.jupyter) the notebook runs inside the Python driver
of a Livy batch. Each run:

- injects the partition date and settings as papermill parameters;
- logs each code cell's start, duration and outcome to the Dagster run log;
- keeps the executed notebook (``.ipynb`` and HTML) under ``NOTEBOOK_OUTPUT_DIR`` and puts the paths,
  the kernel's Livy batch id/name and the Spark UI / driver-log links in the materialization;
- fails with the failing cell's error (name, value, traceback), which the saved notebook also shows;
- stops a cell after ``cell_timeout_s``;
- leaves no batch behind: the kernel's shutdown deletes it, and the asset deletes it again (by
  its unique name) in a ``finally`` that also runs on failure, timeout and run termination.

Papermill directly, not dagstermill: dagstermill pins its own dagster release (0.29.x <-> 1.13.x) and an
unpinned resolve of the two has dragged dagster back to an import-broken 0.11 here, while all it
would add is a `context` inside the notebook, which an analyst's notebook must not need (it also
runs in JupyterLab). Papermill's engine API gives the per-cell hooks and the kernel manager.
"""


import hashlib
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import dagster as dg
import nbformat
import papermill as pm
from nbclient.exceptions import CellTimeoutError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.exceptions import PapermillExecutionError
from papermill.utils import merge_kwargs, remove_args

from dagster_livy.auth import livy_client_from_env
from dagster_livy.client import LivyClient
from dagster_livy.env import livy_url
from dagster_livy.errors import LivyError

ENGINE_NAME = "dagster_livy"
DEFAULT_KERNEL = "pyspark-livy"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def notebook_output_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where executed notebooks are kept: NOTEBOOK_OUTPUT_DIR, else $DAGSTER_HOME/notebooks
    (.dagster/notebooks when DAGSTER_HOME is unset)."""
    env = os.environ if env is None else env
    explicit = env.get("NOTEBOOK_OUTPUT_DIR")
    if explicit:
        return Path(explicit)
    return Path(env.get("DAGSTER_HOME") or ".dagster") / "notebooks"


@dataclass
class KernelBatch:
    """The Livy batch a pyspark-livy kernel runs in (read from its provisioner)."""

    id: int | None
    name: str | None
    livy_url: str
    spark_ui_url: str | None = None
    driver_log_url: str | None = None
    app_id: str | None = None

    @property
    def batch_url(self) -> str:
        return f"{self.livy_url}/batches/{self.id if self.id is not None else self.name}"


@dataclass
class CellError:
    """The error of the cell that stopped the notebook."""

    cell_index: int  # position among the notebook's cells (as saved, without papermill's markers)
    ename: str
    evalue: str
    traceback: list[str]
    source: str

    def text(self) -> str:
        tb = _ANSI.sub("", "\n".join(self.traceback))
        return f"{self.ename}: {self.evalue}\n{tb}".rstrip()


@dataclass
class NotebookRun:
    """What one execution produced."""

    input_path: Path
    output_ipynb: Path
    output_html: Path | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    kernel_name: str = DEFAULT_KERNEL
    batch: KernelBatch | None = None
    cells_run: int = 0
    code_cells: int = 0
    duration_s: float = 0.0
    error: CellError | None = None
    running_cell: int | None = None  # index of the cell executing now (None between cells)


class _Progress:
    """nbclient hooks: one log line per code cell, and the kernel's batch as soon as it is up."""

    def __init__(self, run: NotebookRun, log: Callable[[str], None], client: PapermillNotebookClient):
        self.run, self.log, self.client = run, log, client
        self.ordinal = {i: n for n, i in enumerate(
            (i for i, c in enumerate(client.nb.cells) if c.cell_type == "code" and c.source.strip()), 1)}
        run.code_cells = len(self.ordinal)
        self.started: dict[int, float] = {}

    def _name(self, index: int) -> str:
        return f"cell {self.ordinal.get(index, '?')}/{self.run.code_cells} (#{index})"

    async def on_notebook_start(self, notebook, **_) -> None:
        prov = getattr(self.client.km, "provisioner", None)
        batch_id, batch_name = getattr(prov, "batch_id", None), getattr(prov, "batch_name", None)
        url = getattr(prov, "livy_url", None)
        if url and (batch_id is not None or batch_name):
            self.run.batch = KernelBatch(batch_id, batch_name, url.rstrip("/"))
            self._read_links(self.run.batch)
            self.log(f"kernel {self.run.kernel_name} is Livy batch {batch_name} (id {batch_id}): "
                     f"{self.run.batch.batch_url}")
        else:
            self.log(f"kernel {self.run.kernel_name} started (not a Livy batch)")
        ui = await self._probe_spark_ui()
        if ui and self.run.batch is not None and not self.run.batch.spark_ui_url:
            self.run.batch.spark_ui_url = ui

    def _read_links(self, batch: KernelBatch) -> None:
        try:
            with _livy_client(batch.livy_url) as client:
                info = client.get_batch(batch.name or batch.id)
            batch.app_id, batch.spark_ui_url = info.app_id, info.spark_ui_url
            batch.driver_log_url = info.driver_log_url
        except (LivyError, OSError) as exc:  # links are a convenience: never fail the run for them
            self.log(f"could not read the batch's Spark links: {exc}")

    async def _probe_spark_ui(self) -> str | None:
        """The driver's Spark UI URL, asked of the kernel between cells (silent; no output)."""
        kc = self.client.kc
        try:
            msg_id = kc.execute("", silent=True, store_history=False,
                                user_expressions={"ui": "spark.sparkContext.uiWebUrl"})
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                reply = await kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
                if reply["parent_header"].get("msg_id") == msg_id:
                    value = reply["content"].get("user_expressions", {}).get("ui", {})
                    text = value.get("data", {}).get("text/plain", "") if value.get("status") == "ok" else ""
                    text = text.strip("'\"")
                    return text if text and text != "None" else None
        except Exception:  # noqa: BLE001 - e.g. a kernel without `spark`: no link, no failure
            return None
        return None

    def on_cell_start(self, cell, cell_index, **_) -> None:
        if cell_index not in self.ordinal:  # markdown/raw/empty cells: nothing runs
            return
        self.started[cell_index] = time.monotonic()
        self.run.running_cell = cell_index
        first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")[:100]
        self.log(f"{self._name(cell_index)} started: {first}")

    def on_cell_executed(self, cell, cell_index, execute_reply, **_) -> None:
        took = time.monotonic() - self.started.get(cell_index, time.monotonic())
        self.run.cells_run += 1
        self.run.running_cell = None
        content = (execute_reply or {}).get("content", {})
        if content.get("status") == "error":
            self.log(f"{self._name(cell_index)} FAILED after {took:.1f}s: "
                     f"{content.get('ename')}: {content.get('evalue')}")
        else:
            self.log(f"{self._name(cell_index)} done in {took:.1f}s")


class _ForwardHandler(logging.Handler):
    def __init__(self, log: Callable[[str], None]):
        super().__init__(logging.INFO)
        self.forward = log

    def emit(self, record: logging.LogRecord) -> None:
        self.forward(record.getMessage())


class _Client(PapermillNotebookClient):
    """Gives the kernel manager (and so its provisioner) a logger that forwards to `log`: the
    pyspark-livy start-up progress (batch submitted, id, state) reaches the Dagster run log."""

    forward_log: Callable[[str], None] | None = None

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self.forward_log is not None:
            logger = logging.getLogger(f"{__name__}.kernel.{uuid.uuid4().hex[:8]}")
            logger.propagate, logger.level = False, logging.INFO
            logger.addHandler(_ForwardHandler(self.forward_log))
            km.log = logger
        return km


class LivyPapermillEngine(NBClientEngine):
    """papermill's nbclient engine plus per-cell progress hooks and a kernel environment.

    Extra keyword arguments (through ``pm.execute_notebook(**engine_kwargs)``): ``notebook_run``
    (filled in), ``log`` (a callable taking one line) and ``kernel_env`` (merged over os.environ
    for the kernel process/provisioner: e.g. LIVY_URL)."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                 stderr_file=None, start_timeout=60, execution_timeout=None,
                                 notebook_run: NotebookRun | None = None, log=None, kernel_env=None,
                                 **kwargs):
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        client = _Client(nb_man, **merge_kwargs(
            kwargs, timeout=execution_timeout, startup_timeout=start_timeout, kernel_name=kernel_name,
            log=pm.log.logger, log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file))
        progress = _Progress(notebook_run or NotebookRun(Path("?"), Path("?")), log or (lambda _: None), client)
        client.forward_log = log
        client.on_notebook_start = progress.on_notebook_start
        client.on_cell_start = progress.on_cell_start
        client.on_cell_executed = progress.on_cell_executed
        return client.execute(env={**os.environ, **(kernel_env or {})})


papermill_engines.register(ENGINE_NAME, LivyPapermillEngine)


def _livy_client(url: str) -> LivyClient:
    return livy_client_from_env(url, os.environ, retries=2)  # the kernel's auth variables


def kernel_batch_tag(run_id: str, step: str) -> str:
    """``run-<run id prefix>-<hash of the step>`` (the step: the asset key): unique per step, so the
    cleanup of one notebook asset never deletes the kernel of another asset in the same run."""
    return f"run-{run_id[:8]}-{hashlib.sha1(step.encode()).hexdigest()[:8]}"


def delete_kernel_batches(batch: KernelBatch | None, livy_url: str, tag: str | None,
                          log: Callable[[str], None]) -> list[str]:
    """Delete what Livy still lists of the kernel's batch: by its name when the kernel came up,
    and every ``pyspark-livy--<tag>--…`` batch (the name the provisioner gives with
    LIVY_KERNEL_BATCH_TAG), which also finds a batch whose kernel never finished starting."""
    url = batch.livy_url if batch is not None else livy_url
    prefix = f"{DEFAULT_KERNEL}--{tag}--" if tag else None
    with _livy_client(url) as client:
        listed = {b.name for b in client.list_batches(size=1000) if b.name}
        left = sorted(n for n in listed if (batch is not None and n == batch.name)
                      or (prefix is not None and n.startswith(prefix)))
        for name in left:
            log(f"deleting batch {name} left by the kernel")
            client.delete_batch(name)
    return left


def _cell_error(nb_path: Path, exc: BaseException) -> CellError:
    """The error output of the failing cell in the saved notebook (papermill's markers skipped)."""
    nb = nbformat.read(nb_path, as_version=4)
    cells = [c for c in nb.cells if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
    for index, cell in enumerate(cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                return CellError(index, out.ename, out.evalue, list(out.traceback), cell.source)
    return CellError(-1, type(exc).__name__, str(exc), [], "")


def _record_timeout(nb_path: Path, exc: BaseException, timeout_s: float | None, index: int | None) -> CellError:
    """nbclient raises on a timeout without touching the notebook: write the error into the
    cell that was running, so the saved notebook shows where and why it stopped."""
    nb = nbformat.read(nb_path, as_version=4)
    index = index if index is not None and 0 <= index < len(nb.cells) else -1
    evalue = f"cell did not finish within {timeout_s:g}s (cell_timeout_s)" if timeout_s else str(exc)
    err = CellError(index, "CellTimeoutError", evalue, [f"CellTimeoutError: {evalue}"],
                    nb.cells[index].source if index >= 0 else "")
    if index >= 0:
        nb.cells[index].outputs.append(nbformat.v4.new_output(
            "error", ename=err.ename, evalue=err.evalue, traceback=err.traceback))
        nb.cells[index].metadata.setdefault("papermill", {}).update(status="failed", exception=True)
        nbformat.write(nb, nb_path)
    return err


def to_html(nb_path: Path, exclude_input: bool = False) -> Path:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(exclude_input=exclude_input).from_filename(str(nb_path))
    html = nb_path.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def run_notebook(input_path: Path, output_ipynb: Path, parameters: Mapping[str, Any], *,
                 kernel_name: str = DEFAULT_KERNEL, cell_timeout_s: float | None = 1800,
                 start_timeout_s: float = 300, kernel_env: Mapping[str, str] | None = None,
                 log: Callable[[str], None] = print, html_exclude_input: bool = False,
                 cwd: Path | None = None, batch_tag: str | None = None) -> NotebookRun:
    """Execute `input_path` with papermill into `output_ipynb` (+ HTML beside it).

    A failing or timed-out cell does not raise: ``NotebookRun.error`` holds it. Kernel start-up
    failures raise (the kernel's own error, e.g. a LivyError with the driver-log tail). Whatever
    happens, the kernel's batch is gone when this returns (``batch_tag``, a slug unique to this
    execution, also finds it when the kernel was interrupted while starting).
    """
    kernel_env = {**(kernel_env or {}), **({"LIVY_KERNEL_BATCH_TAG": batch_tag} if batch_tag else {})}
    output_ipynb.parent.mkdir(parents=True, exist_ok=True)
    run = NotebookRun(Path(input_path), output_ipynb, parameters=dict(parameters), kernel_name=kernel_name)
    began = time.monotonic()
    try:
        pm.execute_notebook(
            str(input_path), str(output_ipynb), parameters=dict(parameters), kernel_name=kernel_name,
            engine_name=ENGINE_NAME, execution_timeout=cell_timeout_s, start_timeout=start_timeout_s,
            progress_bar=False, cwd=str(cwd) if cwd else None, notebook_run=run, log=log,
            kernel_env=kernel_env)
    except PapermillExecutionError as exc:
        run.error = _cell_error(output_ipynb, exc)
    except CellTimeoutError as exc:  # only a cell's timeout; a socket timeout at kernel start propagates
        if not output_ipynb.exists():
            raise
        run.error = _record_timeout(output_ipynb, exc, cell_timeout_s, run.running_cell)
    finally:
        run.duration_s = round(time.monotonic() - began, 3)
        if run.batch is not None or (batch_tag and kernel_name == DEFAULT_KERNEL):
            try:
                delete_kernel_batches(run.batch, livy_url({**os.environ, **kernel_env}), batch_tag, log)
            except LivyError as exc:  # never mask the notebook's own outcome; say what may be left
                log(f"could not check/delete the kernel's batch ({run.batch or batch_tag}): {exc}")
        if output_ipynb.exists():
            try:
                run.output_html = to_html(output_ipynb, html_exclude_input)
            except Exception as exc:  # noqa: BLE001 - the .ipynb is kept either way
                log(f"could not convert {output_ipynb} to HTML: {exc}")
    return run


def run_metadata(run: NotebookRun) -> dict[str, dg.MetadataValue]:
    md: dict[str, dg.MetadataValue] = {
        "notebook": dg.MetadataValue.path(str(run.input_path)),
        "executed_notebook": dg.MetadataValue.notebook(str(run.output_ipynb)),
        "kernel": dg.MetadataValue.text(run.kernel_name),
        "parameters": dg.MetadataValue.json(run.parameters),
        "cells_run": dg.MetadataValue.int(run.cells_run),
        "duration_s": dg.MetadataValue.float(run.duration_s),
    }
    if run.output_html:
        md["executed_notebook_html"] = dg.MetadataValue.path(str(run.output_html))
    if run.batch is not None:
        b = run.batch
        if b.id is not None:
            md["livy_batch_id"] = dg.MetadataValue.text(str(b.id))  # an id: not plotted
        if b.name:
            md["livy_batch_name"] = dg.MetadataValue.text(b.name)
        md["livy_batch_url"] = dg.MetadataValue.url(b.batch_url)
        md["livy_driver_log_url"] = dg.MetadataValue.url(b.driver_log_url or f"{b.batch_url}/log")
        if b.spark_ui_url:
            md["spark_ui_url"] = dg.MetadataValue.url(b.spark_ui_url)
        if b.app_id:
            md["spark_app_id"] = dg.MetadataValue.text(b.app_id)
    return md


def notebook_asset(
    notebook: str | Path,
    *,
    key: dg.AssetKey | str | list[str],
    partitions_def: dg.TimeWindowPartitionsDefinition,
    parameters: Callable[[str], Mapping[str, Any]] | None = None,
    kernel_env: Callable[[], Mapping[str, str]] | None = None,
    kernel_name: str = DEFAULT_KERNEL,
    output_dir: Callable[[], Path] = notebook_output_dir,
    cell_timeout_s: float | None | Callable[[], float | None] = 1800,
    start_timeout_s: float = 300,
    html_exclude_input: bool = False,
    **asset_kwargs: Any,
) -> dg.AssetsDefinition:
    """A daily-partitioned asset that runs `notebook` with papermill for each partition.

    ``parameters(date)`` gives the notebook's parameters besides ``run_date`` (the partition key,
    YYYY-MM-DD); ``kernel_env()`` the kernel's environment additions; a callable ``cell_timeout_s``
    is read at run time too. Further keyword arguments go to ``dg.asset`` (deps, group_name,
    description, pool, ...).
    """
    notebook = Path(notebook)
    asset_key = dg.AssetKey.from_coercible(key)
    metadata = {"notebook": str(notebook), "kernel": kernel_name, **asset_kwargs.pop("metadata", {})}
    kinds = asset_kwargs.pop("kinds", {"jupyter"})

    @dg.asset(key=asset_key, partitions_def=partitions_def, metadata=metadata, kinds=kinds, **asset_kwargs)
    def _notebook_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        date = context.partition_key
        params = {"run_date": date, **dict(parameters(date) if parameters else {})}
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        out = Path(output_dir()).resolve() / asset_key.to_python_identifier() / date / (
            f"{notebook.stem}-{stamp}-{context.run.run_id[:8]}.ipynb")
        context.log.info(f"running {notebook} on kernel {kernel_name} with {params}; output {out}")
        timeout = cell_timeout_s() if callable(cell_timeout_s) else cell_timeout_s
        run = run_notebook(notebook, out, params, kernel_name=kernel_name, cell_timeout_s=timeout,
                           start_timeout_s=start_timeout_s, kernel_env=kernel_env() if kernel_env else None,
                           log=context.log.info, html_exclude_input=html_exclude_input,
                           batch_tag=kernel_batch_tag(context.run.run_id, asset_key.to_user_string()))
        md = run_metadata(run)
        if run.error is not None:
            err = run.error
            raise dg.Failure(
                description=f"{notebook.name} failed in cell #{err.cell_index} (see {out}):\n{err.text()}",
                metadata={**md, "ename": dg.MetadataValue.text(err.ename),
                          "evalue": dg.MetadataValue.text(err.evalue),
                          "failed_cell_source": dg.MetadataValue.md(f"```python\n{err.source}\n```")})
        context.log.info(f"{notebook.name}: {run.cells_run}/{run.code_cells} cells in {run.duration_s:.1f}s; "
                         f"HTML {run.output_html}")
        return dg.MaterializeResult(metadata=md)

    return _notebook_asset
