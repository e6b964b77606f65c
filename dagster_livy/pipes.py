"""`PipesLivyClient`: Dagster Pipes over Livy batches, shaped like Dagster's own Pipes clients.

Livy batches cannot set environment variables, so the Pipes bootstrap (where the context and
the message channel are) travels as CLI arguments (`--dagster-pipes-context`,
`--dagster-pipes-messages`); the script opens Pipes with
`open_dagster_pipes(params_loader=PipesCliArgsParamsLoader())` and still runs standalone under
plain spark-submit.

Message channels (`message_channel`, unless a `message_reader` is injected):
- `log` (default): the script writes Pipes messages to stdout; they arrive in the Livy batch log,
  which is read incrementally anyway. Works in local and client deploy mode, where Livy captures
  the driver's stdout.
- `shared_dir`: messages go to a file in a directory both the driver and Dagster can read (an
  NFS/shared mount) — for cluster deploy mode, where the driver's stdout never reaches Livy.

Only public Dagster imports: this module must keep working across Dagster minor releases.
"""

# No `from __future__ import annotations`: Dagster reads the ResourceDependency annotations of
# the resource class at class creation and does not resolve string annotations.
import json
import os
from contextlib import contextmanager
from typing import Any, Iterator, Literal, Optional

import dagster as dg
from pydantic import Field

from dagster_livy.resource import LivyResource, batch_metadata

_PIPES_MARKER = '{"__dagster_pipes_version"'


class PipesLivyLogMessageReader(dg.PipesMessageReader):
    """Reads Pipes messages out of the Livy batch log lines as the batch runner streams them.

    Needs no thread or storage of its own: `PipesLivyClient` feeds it every new driver-log line
    (`consume`). One reader serves one Pipes session at a time.
    """

    def __init__(self) -> None:
        self._handler: dg.PipesMessageHandler | None = None
        self.messages_seen = 0

    @contextmanager
    def read_messages(self, handler: dg.PipesMessageHandler) -> Iterator[dict]:
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


class PipesLivyClient(dg.ConfigurableResource, dg.PipesClient):
    """A Dagster Pipes client that runs a script as a Livy batch.

    Like Dagster's own Pipes clients it takes an optional `context_injector` (default
    `PipesEnvContextInjector`: the context travels inline in the bootstrap argument) and
    `message_reader` (default: chosen by `message_channel`), and a `forward_termination` switch.
    It is a ConfigurableResource, so it goes into `Definitions(resources=...)` and is requested
    by annotating an asset parameter with `PipesLivyClient`.

    Example::

        @dg.asset
        def my_table(context: dg.AssetExecutionContext, pipes_livy: PipesLivyClient):
            return pipes_livy.run(context=context, file="local:/jobs/my_table.py",
                                  args=["--date", context.partition_key]).get_materialize_result()

        defs = dg.Definitions(assets=[my_table],
                              resources={"pipes_livy": PipesLivyClient(livy=LivyResource())})
    """

    livy: LivyResource
    message_channel: Literal["log", "shared_dir"] = Field(
        default="log", description="Where the script writes Pipes messages: the Livy log, or a shared "
                                   "directory. Ignored when a message_reader is given.")
    shared_dir: Optional[str] = Field(
        default=None, description="For message_channel='shared_dir': a directory the driver and Dagster both see.")
    forward_termination: bool = Field(
        default=True, description="Delete the Livy batch (killing its spark-submit) when the Dagster run "
                                  "is terminated. False leaves it running to its end, unwatched.")
    # Plain objects, not config: injected like nested resources, so the resource's copies that
    # Dagster makes at execution time keep them.
    context_injector: dg.ResourceDependency[Optional[dg.PipesContextInjector]] = Field(
        default=None, description="How the Pipes context reaches the driver (default: inline in the "
                                  "bootstrap argument, PipesEnvContextInjector).")
    message_reader: dg.ResourceDependency[Optional[dg.PipesMessageReader]] = Field(
        default=None, description="Where Pipes messages are read (default: per message_channel).")

    def run(  # type: ignore[override]  (Pipes clients add their own keyword arguments)
        self,
        *,
        context: dg.OpExecutionContext | dg.AssetExecutionContext,
        file: str,
        args: list[str] | None = None,
        extras: dict[str, Any] | None = None,
        conf: dict[str, Any] | None = None,
        **batch_fields: Any,
    ) -> dg.PipesClientCompletedInvocation:
        """Run `file` as a Livy batch inside a Pipes session and wait for its end.

        `args` go to the script before the Pipes bootstrap arguments; `extras` reach it as
        `pipes.get_extra(...)`; `conf` and `batch_fields` (py_files, driver_memory, ...) override
        the LivyResource's batch defaults. Failure, timeout and retry behave as in
        `LivyResource.run_batch`; a terminated run deletes the batch unless `forward_termination`
        is False. The invocation's metadata (batch id, state, links) is attached to every result.
        """
        reader = self.message_reader or self._default_message_reader(context)
        log_reader = reader if isinstance(reader, PipesLivyLogMessageReader) else None
        injector = self.context_injector or dg.PipesEnvContextInjector()
        with dg.open_pipes_session(context=context, context_injector=injector,
                                   message_reader=reader, extras=extras) as session:
            bootstrap = [x for kv in session.get_bootstrap_cli_arguments().items() for x in kv]
            result = self.livy.run_batch(
                context, file, args=[*(args or []), *bootstrap], conf=conf,
                on_lines=log_reader.consume if log_reader else None,
                delete_on_interrupt=self.forward_termination, **batch_fields,
            )
        return dg.PipesClientCompletedInvocation(
            session, metadata=batch_metadata(result, session.get_reported_results()))

    def _default_message_reader(self, context: Any) -> dg.PipesMessageReader:
        if self.message_channel == "log":
            return PipesLivyLogMessageReader()
        if not self.shared_dir:
            raise dg.DagsterInvariantViolationError(
                "PipesLivyClient: message_channel='shared_dir' needs `shared_dir` (a directory the "
                "Spark driver and Dagster both see)")
        os.makedirs(self.shared_dir, exist_ok=True)
        path = os.path.join(self.shared_dir, f"pipes-{context.run.run_id}-{context.op_def.name}.jsonl")
        return dg.PipesFileMessageReader(path)
