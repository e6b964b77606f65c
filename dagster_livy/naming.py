"""Batch and session names: the one rule (:func:`check_name`) and deterministic names (:func:`batch_name`).

Livy rejects duplicate names among retained batches and all-digit names (a non-numeric path
segment is looked up by name, an all-digit one as an id), and a name is used as a URL path
segment. A name derived from what is being computed (asset, partition) and by which run makes a
retry find its own batch again, and a Livy restart detectable (see batches.py). Request bodies
(bodies.py), by-name lookups (client.py) and generated names all follow :func:`check_name`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from dagster_livy.errors import LivyConfigError

# Livy sets no limit of its own; names travel in URLs and logs, so keep them readable.
MAX_NAME_LEN = 200
_UNSAFE = re.compile(r"[^a-z0-9_.-]+")


def check_name(name: Any, field: str = "name") -> str:
    """Return `name` if Livy can use it as a batch/session name, else raise LivyConfigError naming it.

    The rule: a non-blank string, not all digits, without '/', at most MAX_NAME_LEN characters.
    """
    shown = repr(name) if not isinstance(name, str) or len(name) <= 80 else repr(name[:80] + "...")
    if not isinstance(name, str) or not name.strip():
        why = "it must be a non-empty string"
    elif name.isdigit():
        why = "it is all digits (Livy would look it up as a batch id)"
    elif "/" in name:
        why = "it contains '/' (names are URL path segments: GET /batches/{name})"
    elif len(name) > MAX_NAME_LEN:
        why = f"it has {len(name)} characters, over the limit of {MAX_NAME_LEN}"
    else:
        return name
    raise LivyConfigError(f"{field} {shown} is not a valid Livy batch/session name: {why}")


def _slug(text: str) -> str:
    return _UNSAFE.sub("-", text.lower()).strip("-.") or "x"


def batch_name(parts: list[str] | tuple[str, ...], run_id: str, attempt: int = 0) -> str:
    """`<asset-key>--<partition>--<run id prefix>[-r<attempt>]`, lower-case, URL-safe.

    Over-long names keep their start and gain a hash of the whole, so they stay unique.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    base = "--".join(_slug(p) for p in parts if p) or "batch"
    name = f"{base}--{_slug(run_id)[:8]}"
    if attempt:
        name += f"-r{attempt}"
    if len(name) > MAX_NAME_LEN:
        digest = hashlib.sha1(name.encode()).hexdigest()[:10]
        name = f"{name[: MAX_NAME_LEN - 12]}--{digest}"
    if name.isdigit():  # cannot happen with the "--" separator, but Livy would refuse it
        name = f"b-{name}"
    return check_name(name)
