"""dagster_livy stands on Dagster's public API only, and its Pipes client is a Dagster Pipes client."""

import re
from pathlib import Path

import dagster as dg

import dagster_livy
from dagster_livy import LivyResource, PipesLivyClient

PRIVATE = re.compile(r"\bdagster\._|from dagster\._|import dagster\._")
# The one exception, and why: `make demo` creates its runs with a code-location origin so they
# show on the UI's job pages (Dagster has no public API for that outside the webserver/daemon).
# It is the example's tooling, not the library: the client, runner, resource, Pipes and Jupyter
# layers stay on public imports.
DEMO_ONLY = "lakehouse/demo.py"


def test_no_private_dagster_imports():
    package = Path(dagster_livy.__file__).parent
    offenders = [f"{path.relative_to(package)}:{i}" for path in package.rglob("*.py")
                 for i, line in enumerate(path.read_text().splitlines(), 1) if PRIVATE.search(line)
                 and str(path.relative_to(package)) != DEMO_ONLY]
    assert offenders == []


def test_pipes_livy_client_is_a_pipes_client_and_a_resource():
    assert issubclass(PipesLivyClient, dg.PipesClient) and issubclass(PipesLivyClient, dg.ConfigurableResource)
    client = PipesLivyClient(livy=LivyResource(url="http://127.0.0.1:8998"))
    assert (client.forward_termination, client.context_injector, client.message_reader) == (True, None, None)
    reader = dg.PipesFileMessageReader("/tmp/x.jsonl")
    assert PipesLivyClient(livy=LivyResource(url="http://127.0.0.1:8998"), message_reader=reader,
                           forward_termination=False).message_reader is reader
