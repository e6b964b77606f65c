"""`PipesLivyClient`: Dagster Pipes over Livy batches.

Livy batches cannot set environment variables, so the Pipes bootstrap (context and message
channel) travels as CLI arguments (`--dagster-pipes-context`, `--dagster-pipes-messages`); the
script opens Pipes with `open_dagster_pipes(params_loader=PipesCliArgsParamsLoader())` and still
runs standalone under plain spark-submit.

Message channels:
- `log` (default): the script writes Pipes messages to stdout; they arrive in the Livy batch log,
  which is read incrementally anyway. Works in local and client deploy mode, where Livy captures
  the driver's stdout.
- `shared_dir`: messages go to a file in a directory both the driver and Dagster can read (an
  NFS/shared mount) — for cluster deploy mode, where the driver's stdout never reaches Livy.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import Any, Iterator, Literal

import dagster as dg
from dagster._core.pipes.client import PipesMessageReader
from dagster._core.pipes.context import PipesMessageHandler
from dagster._core.pipes.utils import PipesEnvContextInjector, PipesFileMessageReader, open_pipes_session
from pydantic import Field

from dagster_livy.resource import LivyResource, batch_metadata

_PIPES_MARKER = '{"__dagster_pipes_version"'


class PipesLivyLogMessageReader(PipesMessageReader):
    """Reads Pipes messages out of the Livy batch log lines as the batch runner streams them."""

    def __init__(self) -> None:
        self._handler: PipesMessageHandler | None = None
        self.messages_seen = 0

    @contextmanager
    def read_messages(self, handler: PipesMessageHandler) -> Iterator[dict]:
        self._handler = handler
        try:
            yield {"stdio": "stdout"}  # dagster_pipes' PipesDefaultMessageWriter: JSON lines on stdout
        finally:
            self._handler = None

    def consume(self, lines: list[str]) -> list[str]:
        """Hand Pipes messages to Dagster; return the other lines (plain driver output)."""
        rest = []
        for line in lines:
            text = line.strip()
            if text.startswith(_PIPES_MARKER) and self._handler is not None:
                try:
                    message = json.loads(text)
                except json.JSONDecodeError:
                    rest.append(line)  # a message cut by the log buffer: show it, don't crash
                    continue
                self.messages_seen += 1
                self._handler.handle_message(message)
            else:
                rest.append(line)
        return rest

    def no_messages_debug_text(self) -> str:
        return ("Looked for Dagster Pipes messages in the Livy batch log (the driver's stdout). "
                "Did the script call open_dagster_pipes(params_loader=PipesCliArgsParamsLoader())? "
                "In cluster deploy mode use message_channel='shared_dir'.")


class PipesLivyClient(dg.ConfigurableResource):
    """A Dagster Pipes client that runs a script as a Livy batch.

    Example::

        @dg.asset
        def my_table(context: dg.AssetExecutionContext, pipes_livy: PipesLivyClient):
            return pipes_livy.run(context=context, file="local:/jobs/my_table.py",
                                  args=["--date", context.partition_key]).get_materialize_result()
    """

    livy: LivyResource
    message_channel: Literal["log", "shared_dir"] = Field(
        default="log", description="Where the script writes Pipes messages: the Livy log, or a shared directory.")
    shared_dir: str | None = Field(
        default=None, description="For message_channel='shared_dir': a directory the driver and Dagster both see.")

    def run(
        self,
        *,
        context: dg.OpExecutionContext | dg.AssetExecutionContext,
        file: str,
        args: list[str] | None = None,
        extras: dict[str, Any] | None = None,
        conf: dict[str, Any] | None = None,
        **batch_fields: Any,
    ) -> dg.PipesClientCompletedInvocation:
        """Run `file` as a Livy batch inside a Pipes session; failure, timeout and termination
        behave exactly as in `LivyResource.run_batch`."""
        reader, log_reader = self._message_reader(context)
        with open_pipes_session(context=context, context_injector=PipesEnvContextInjector(),
                                message_reader=reader, extras=extras) as session:
            bootstrap = [x for kv in session.get_bootstrap_cli_arguments().items() for x in kv]
            result = self.livy.run_batch(
                context, file, args=[*(args or []), *bootstrap], conf=conf,
                on_lines=log_reader.consume if log_reader else None, **batch_fields,
            )
        return dg.PipesClientCompletedInvocation(
            session, metadata=batch_metadata(result, session.get_reported_results()))

    def _message_reader(self, context: Any) -> tuple[PipesMessageReader, PipesLivyLogMessageReader | None]:
        if self.message_channel == "log":
            reader = PipesLivyLogMessageReader()
            return reader, reader
        if not self.shared_dir:
            raise dg.DagsterInvariantViolationError(
                "PipesLivyClient: message_channel='shared_dir' needs `shared_dir` (a directory the "
                "Spark driver and Dagster both see)")
        os.makedirs(self.shared_dir, exist_ok=True)
        path = os.path.join(self.shared_dir, f"pipes-{context.run.run_id}-{context.op_def.name}.jsonl")
        return PipesFileMessageReader(path), None
