"""dagster_livy stands on Dagster's public API only, and its Pipes client is a Dagster Pipes client."""

import re
from pathlib import Path

import dagster as dg

import dagster_livy
from dagster_livy import LivyResource, PipesLivyClient

PRIVATE = re.compile(r"\bdagster\._|from dagster\._|import dagster\._")


def test_no_private_dagster_imports():
    package = Path(dagster_livy.__file__).parent
    offenders = [f"{path.relative_to(package)}:{i}" for path in package.rglob("*.py")
                 for i, line in enumerate(path.read_text().splitlines(), 1) if PRIVATE.search(line)]
    assert offenders == []


def test_pipes_livy_client_is_a_pipes_client_and_a_resource():
    assert issubclass(PipesLivyClient, dg.PipesClient) and issubclass(PipesLivyClient, dg.ConfigurableResource)
    client = PipesLivyClient(livy=LivyResource(url="http://127.0.0.1:8998"))
    assert (client.forward_termination, client.context_injector, client.message_reader) == (True, None, None)
    reader = dg.PipesFileMessageReader("/tmp/x.jsonl")
    assert PipesLivyClient(livy=LivyResource(url="http://127.0.0.1:8998"), message_reader=reader,
                           forward_termination=False).message_reader is reader
