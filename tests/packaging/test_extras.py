"""Every import of each layer is covered by the extra that installs the layer (read statically:
every `import` in every module, also the lazy ones inside functions), and no layer imports one
above it. The requirement closure is walked in this venv's installed metadata."""

from __future__ import annotations

import ast
import importlib.metadata as md
import sys
from functools import cache
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

PKG = REPO / "dagster_livy"
FIRST_PARTY = {"dagster_livy", "lakehouse_jobs"}

CLIENT = [p for p in PKG.glob("*.py") if p.stem not in {"resource", "pipes", "history", "notebooks"}]
DAGSTER = [PKG / "resource.py", PKG / "pipes.py", PKG / "history.py"]
JUPYTER = sorted((PKG / "jupyter").glob("*.py"))
LAKEHOUSE = [PKG / "notebooks.py", *sorted((PKG / "lakehouse").glob("*.py")),
             *sorted((REPO / "spark_scripts").rglob("*.py"))]

# (modules, extras whose requirements cover them, imports allowed beyond them and why)
LAYERS = {
    "client": (CLIENT, ["kerberos"], {}),  # requests-gssapi only with LIVY_AUTH=kerberos (extra)
    "dagster": (DAGSTER, ["dagster"], {}),
    # The launcher runs inside the Spark driver: its Python is Livy's (pyspark by definition,
    # ipykernel as documented; locally the lakehouse extra's).
    "jupyter": (JUPYTER, ["jupyter"], {"pyspark": "launcher.py runs in the Spark driver",
                                       "ipykernel": "launcher.py runs in the Spark driver"}),
    "lakehouse": (LAKEHOUSE, ["lakehouse"], {}),
}
# What each layer may import of the package (never a layer above it).
BELOW = {
    "client": {"dagster_livy"},
    "dagster": {"dagster_livy", "dagster_livy.resource", "dagster_livy.pipes", "dagster_livy.history"},
    "jupyter": {"dagster_livy", "dagster_livy.jupyter"},
}
UPPER = ("dagster_livy.resource", "dagster_livy.pipes", "dagster_livy.history", "dagster_livy.jupyter", "dagster_livy.notebooks",
         "dagster_livy.lakehouse", "lakehouse_jobs")


def imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
    return out


@cache
def closure(requirements: tuple[str, ...]) -> frozenset[str]:
    """Canonical names of the distributions `requirements` install, transitively (markers
    evaluated here, extras followed)."""
    seen: set[str] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        extras = sorted(req.extras)
        key = f"{name}[{','.join(extras)}]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # not installed here (another platform's marker): nothing to follow
        for r in dist.requires or []:
            for e in [""] + extras:
                todo.append((Requirement(r), e))
    return frozenset(k.split("[")[0] for k in seen)


def extra_requirements(extras: list[str]) -> tuple[str, ...]:
    """dagster-livy's base requirements and those of `extras` (as installed: the metadata of this
    checkout's editable install, i.e. pyproject.toml), markers dropped."""
    out = []
    for r in md.distribution("dagster-livy").requires or []:
        req = Requirement(r)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras):
            req.marker = None
            out.append(str(req))
    return tuple(out)


@pytest.mark.parametrize("layer", LAYERS)
def test_every_import_of_a_layer_is_installed_by_its_extra(layer):
    modules, extras, allowed = LAYERS[layer]
    covered = closure(extra_requirements(extras))
    to_dist = md.packages_distributions()
    missing = []
    for path in modules:
        for name in imports(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in FIRST_PARTY or top in allowed or top == "__future__":
                continue
            # Not installed here (an optional extra): its import name is its distribution's.
            dists = {canonicalize_name(d) for d in to_dist.get(top, [])} or {canonicalize_name(top)}
            if not dists & covered:
                missing.append(f"{path.relative_to(REPO)}: import {name} ({sorted(dists) or 'not installed'})")
    print(f"\n{layer}: {len(modules)} modules, extras {extras} install {len(covered)} distributions")
    assert not missing, f"not installed by dagster-livy[{','.join(extras)}]:\n" + "\n".join(missing)


@pytest.mark.parametrize("layer", BELOW)
def test_no_layer_imports_one_above_it(layer):
    modules = LAYERS[layer][0]
    up = []
    for path in modules:
        if path == PKG / "__init__.py":
            continue  # its module __getattr__ imports the Dagster layer lazily, when asked for it
        for name in imports(path):
            if name.startswith(UPPER) and not any(name == b or name.startswith(b + ".") for b in BELOW[layer] - {"dagster_livy"}):
                up.append(f"{path.relative_to(REPO)}: import {name}")
    assert not up, "\n".join(up)
