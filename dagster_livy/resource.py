"""`LivyResource`: a Dagster resource that runs Spark batches on a Livy server."""

from __future__ import annotations

import dataclasses
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

import dagster as dg
from pydantic import Field

from dagster_livy.auth import make_auth
from dagster_livy.batches import BatchResult, BatchRunner, PollPolicy
from dagster_livy.bodies import build_batch_body
from dagster_livy.client import LivyClient
from dagster_livy.env import livy_url
from dagster_livy.errors import LivyError, is_transient
from dagster_livy.history import DriverLogFile, driver_log_path, history_metadata, reported_app_ids
from dagster_livy.polling import BATCH_POLL
from dagster_livy.naming import batch_name
from dagster_livy.redact import is_secret_key, redact_conf, redact_text

# Dagster event-log entries stay readable: driver-log lines are grouped per poll, this many at most.
LINES_PER_EVENT = 200


class LivyResource(dg.ConfigurableResource):
    """Runs Spark batches through Apache Livy and waits for them, streaming the driver log.

    Secrets (`password`, `token`) should come from `dg.EnvVar`. Batch defaults apply to every
    batch and are overridden per call.
    """

    # A lambda: pydantic would pass the validated fields to a one-argument factory as `env`.
    url: str = Field(default_factory=lambda: livy_url(),
                     description="Livy server root URL (default: LIVY_URL, else LIVY_HOST:LIVY_PORT).")
    path_prefix: str = Field(default="", description="Gateway path prefix, e.g. /gateway/default/livy/v1.")
    username: str | None = Field(default=None, description="HTTP Basic user.")
    password: str | None = Field(default=None, description="HTTP Basic password (use dg.EnvVar).")
    token: str | None = Field(default=None, description="Bearer token (use dg.EnvVar).")
    kerberos: bool = Field(default=False, description="SPNEGO auth (needs the `kerberos` extra).")
    verify: bool = True
    ca_bundle: str | None = Field(default=None, description="CA bundle path for TLS verification.")
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0

    conf: dict[str, str] = Field(default_factory=dict, description="Spark conf for every batch.")
    driver_memory: str | None = None
    driver_cores: int | None = None
    executor_memory: str | None = None
    executor_cores: int | None = None
    num_executors: int | None = None
    py_files: list[str] = Field(default_factory=list)
    jars: list[str] = Field(default_factory=list)
    queue: str | None = None
    proxy_user: str | None = None

    # Defaults from BATCH_POLL (dagster_livy.polling): one request a second, measured in bench/.
    poll_initial_s: float = BATCH_POLL.initial_s
    poll_max_s: float = BATCH_POLL.max_s
    poll_factor: float = BATCH_POLL.factor
    max_wait_s: float | None = Field(default=None, description="Delete the batch and fail after this long.")
    stream_logs: bool = Field(default=True, description="Copy new driver-log lines into the event log.")
    keep_driver_log: bool = Field(
        default=True, description="Store every driver-log line under the instance's storage "
        "(<storage>/<run id>/livy/<asset>--<partition>.log), linked as `driver_log`: it outlives the batch and Livy.")
    delete_on_completion: bool = True

    # -- building blocks -------------------------------------------------------------------
    def get_client(self) -> LivyClient:
        """A new client (use it as a context manager)."""
        auth = make_auth(username=self.username, password=self.password, token=self.token,
                         kerberos=self.kerberos)
        verify: bool | str = self.ca_bundle if (self.verify and self.ca_bundle) else self.verify
        return LivyClient(self.url, auth=auth, verify=verify, path_prefix=self.path_prefix,
                          timeout=(self.connect_timeout_s, self.read_timeout_s))

    def secrets(self) -> list[str]:
        return [s for s in (self.password, self.token) if s]

    def batch_body(self, file: str, *, name: str, args: list[str] | None = None,
                   conf: dict[str, Any] | None = None, **overrides: Any) -> dict:
        """The POST /batches body: resource defaults, then per-call overrides."""
        fields: dict[str, Any] = dict(
            driver_memory=self.driver_memory, driver_cores=self.driver_cores,
            executor_memory=self.executor_memory, executor_cores=self.executor_cores,
            num_executors=self.num_executors, py_files=list(self.py_files), jars=list(self.jars),
            queue=self.queue, proxy_user=self.proxy_user,
        )
        fields.update({k: v for k, v in overrides.items() if v is not None})
        return build_batch_body(file, name=name, args=args, conf={**self.conf, **(conf or {})}, **fields)

    # -- the Dagster-facing call -----------------------------------------------------------
    def run_batch(
        self,
        context: dg.OpExecutionContext | dg.AssetExecutionContext,
        file: str,
        *,
        args: list[str] | None = None,
        conf: dict[str, Any] | None = None,
        name: str | None = None,
        on_lines: Callable[[list[str]], list[str]] | None = None,
        delete_on_interrupt: bool = True,
        **overrides: Any,
    ) -> BatchResult:
        """Submit `file` as a Livy batch (or reattach on retry) and wait for its end.

        The batch name is derived from the asset/op, partition and run id, so a step retry finds
        a still-running batch of an earlier attempt instead of starting a second one. A failed
        batch raises `LivyBatchFailedError` with the driver's Python traceback; a timeout or a
        terminated run deletes the batch first (`delete_on_interrupt=False` leaves it running).
        `on_lines` may filter the log lines (the Pipes client takes its messages out) and returns
        what should still be logged.

        The step's log names the batch by what it computes ("gold/daily_sales_summary
        2026-10-30"); its full name and URL are logged at debug level, and Dagster Pipes
        bootstrap arguments (long base64) never appear in the log.
        """
        log = context.log
        base_parts, attempt = _name_parts(context)
        names = [batch_name(base_parts, context.run.run_id, a) for a in range(attempt + 1)]
        name = name or names[-1]
        previous = [] if name != names[-1] else list(reversed(names[:-1]))
        body = self.batch_body(file, name=name, args=args, conf=conf, **overrides)
        secrets = self.secrets() + [v for k, v in body.get("conf", {}).items() if is_secret_key(k)]
        label = _label(base_parts)
        shown_args, pipes_args = _shown_args(body.get("args", []))
        log.info(f"Submitting Livy batch for {label}: {file} args={shown_args}"
                 + (f" (+ {pipes_args} Dagster Pipes bootstrap arguments)" if pipes_args else "")
                 + f" conf={redact_conf(body.get('conf', {}))}")
        log.debug(f"Livy batch name for {label}: {name}")

        stem = "--".join(base_parts) + (f"--attempt{attempt}" if attempt else "")
        stored = self._driver_log_file(context, name, file, stem)
        if stored is not None:
            log.info(f"Livy batch for {label}: full driver log kept at {stored.path}")

        def emit(lines: list[str]) -> None:
            if stored is not None:  # every line, Pipes messages included, before any filter
                stored.write(redact_text("\n".join(lines), secrets).split("\n"))
            if on_lines is not None:
                lines = on_lines(lines)
            if not (self.stream_logs and lines):
                return
            for i in range(0, len(lines), LINES_PER_EVENT):
                chunk = "\n".join(lines[i : i + LINES_PER_EVENT])
                log.info(f"[driver {label}]\n" + redact_text(chunk, secrets))

        def event(msg: str) -> None:
            # The runner names the batch in full: the 60-character name (and its URL) goes to
            # debug, the human-facing line says what the batch computes.
            msg = redact_text(msg, secrets)
            short = _shorten(msg, name, previous, label)
            log.info(short)
            if short != msg:
                log.debug(msg)

        try:
            with self.get_client() as client:
                runner = BatchRunner(
                    client,
                    poll=PollPolicy(self.poll_initial_s, self.poll_max_s, self.poll_factor),
                    max_wait_s=self.max_wait_s,
                    delete_on_completion=self.delete_on_completion,
                    on_lines=emit,
                    on_event=event,
                    keep_running_on=None if delete_on_interrupt else _run_terminated,
                )
                result = runner.run(body, previous_names=previous)
        except BaseException as exc:
            if not delete_on_interrupt and _run_terminated(exc):
                # The runner has said it left the batch running; this says why (the Pipes switch).
                log.warning(f"Livy batch for {label}: termination not forwarded (forward_termination=False)")
            if stored is not None:
                log.info(f"Livy batch {label}: its driver log (as far as it was read) is kept at {stored.path}")
            raise
        finally:
            if stored is not None:
                stored.close()
        log.info(f"Livy batch {result.batch_id} ({label}) {result.state.value} in {result.duration_s:.1f}s")
        if stored is not None:
            if result.log_gaps:
                log.info(f"Livy batch {label}: {result.log_gaps} gap(s) in the stored driver log (Livy's "
                         "log buffer wrapped between reads; the Livy server log has every line)")
            result = dataclasses.replace(result, driver_log=str(stored.path))
        return result

    def _driver_log_file(self, context: Any, name: str, file: str, stem: str) -> DriverLogFile | None:
        """The file this batch's driver log is kept in, or None (switched off, or an instance
        without local storage). Named by what the step computes (`stem`), in the run's directory:
        the step log shows the path, and the 60-character batch name stays out of it."""
        if not self.keep_driver_log:
            return None
        try:
            storage = context.instance.storage_directory()
        except Exception:  # noqa: BLE001 - an instance type without local artifact storage
            return None
        path = driver_log_path(storage, context.run.run_id, stem)
        try:
            return DriverLogFile(path, header=f"# Livy batch {name}: {file} (run {context.run.run_id})")
        except OSError as exc:  # the batch still runs; only the stored copy is missing
            context.log.warning(f"Livy batch for {stem}: cannot keep its driver log at {path}: {exc}")
            return None


@contextmanager
def retry_transient_only() -> Iterator[None]:
    """Let the step's RetryPolicy retry only failures a retry can fix (`errors.is_transient`).

    A permanent failure (the driver raised a data or validation error, a 4xx, a server that is
    not Livy) becomes `dg.Failure(allow_retries=False)`: it fails once, at once, instead of
    failing again after the retry delay. Transient ones (Livy unreachable, 5xx, a lost batch,
    catalog contention) propagate unchanged for the RetryPolicy.
    """
    try:
        yield
    except LivyError as exc:
        if is_transient(exc):
            raise
        raise dg.Failure(description=f"{exc}\n(permanent failure: not retried)", allow_retries=False) from exc


PIPES_ARG_PREFIX = "--dagster-pipes-"


def _shown_args(args: list[str]) -> tuple[list[str], int]:
    """The script's own arguments, and how many Dagster Pipes bootstrap arguments (flag and
    encoded value) were dropped."""
    shown, dropped, skip_value = [], 0, False
    for arg in args:
        if skip_value:
            skip_value = False
        elif arg.startswith(PIPES_ARG_PREFIX):
            skip_value, dropped = "=" not in arg, dropped + 1
        else:
            shown.append(arg)
    return shown, dropped


def _label(parts: list[str]) -> str:
    """What a batch computes, for people: "gold/daily_sales_summary 2026-10-30"."""
    return " ".join([parts[0].replace("__", "/"), *parts[1:]])


def _shorten(message: str, name: str, previous: list[str], label: str) -> str:
    """`message` for people: batch URLs dropped, "batch <name> (id 12)" -> "batch 12 (<label>)",
    any other "batch <name>" -> "batch for <label>" (a batch of an earlier attempt of the step,
    reattached, is labelled so)."""
    for candidate in sorted({name, *previous}, key=len, reverse=True):
        shown = label if candidate == name else f"{label}, earlier attempt"
        c = re.escape(candidate)
        message = re.sub(r":?[ \t]*https?://\S*/batches/" + c + r"(?![\w.-])", "", message)
        message = re.sub(r"\bbatch " + c + r" \(id (\d+)\)", lambda m: f"batch {m[1]} ({shown})", message)
        message = re.sub(r"\bbatch " + c + r"(?![\w.-])", lambda m: f"batch for {shown}", message)
        message = message.replace(candidate, shown)
    return message


def _run_terminated(error: BaseException) -> bool:
    # How Dagster stops a step whose run is terminated (SIGTERM/SIGINT to the run worker).
    return isinstance(error, (dg.DagsterExecutionInterruptedError, KeyboardInterrupt))


def _name_parts(context: Any) -> tuple[list[str], int]:
    """(asset key or op name, partition) and the retry attempt of this step."""
    if context.has_assets_def and len(context.assets_def.keys) == 1:
        parts = ["__".join(context.assets_def.key.path)]
    else:
        parts = [context.op_def.name]
    if context.has_partition_key:
        parts.append(context.partition_key)
    elif context.has_partition_key_range:
        rng = context.partition_key_range
        parts.append(rng.start if rng.start == rng.end else f"{rng.start}..{rng.end}")
    return parts, int(getattr(context, "retry_number", 0) or 0)


def batch_metadata(result: BatchResult, reported: Iterable[Any] = ()) -> dict[str, dg.MetadataValue]:
    """Dagster metadata for a finished batch: links to Livy and Spark, ids, timing, and what
    outlives the batch (dagster_livy.history): `driver_log`, the stored driver log, and
    `spark_history_url`, the application's page in the Spark History Server. The application
    id is Livy's, else the one the script reported (`reported`: the Pipes session's results)."""
    md: dict[str, dg.MetadataValue] = {
        "livy_batch_name": dg.MetadataValue.text(result.name),
        "livy_batch_id": dg.MetadataValue.text(str(result.batch_id)),  # an id, not a measurement: not plotted
        "livy_batch_url": dg.MetadataValue.url(result.livy_url),
        "livy_state": dg.MetadataValue.text(result.state.value),
        "livy_duration_s": dg.MetadataValue.float(round(result.duration_s, 2)),
    }
    if result.app_id:
        md["spark_app_id"] = dg.MetadataValue.text(result.app_id)
    if result.spark_ui_url:
        md["spark_ui_url"] = dg.MetadataValue.url(result.spark_ui_url)
    if result.driver_log_url:
        md["spark_driver_log_url"] = dg.MetadataValue.url(result.driver_log_url)
    if result.reattached:
        md["livy_reattached"] = dg.MetadataValue.bool(True)
    if result.resubmitted:
        md["livy_resubmitted"] = dg.MetadataValue.bool(True)
    if result.log_gaps:
        md["livy_log_gaps"] = dg.MetadataValue.int(result.log_gaps)
    if result.driver_log:
        md["driver_log"] = dg.MetadataValue.path(result.driver_log)
    md.update(history_metadata([result.app_id] if result.app_id else reported_app_ids(reported)))
    return md
