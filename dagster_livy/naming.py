"""Deterministic, Livy-valid batch names.

Livy rejects duplicate names among retained batches and all-digit names, and a name is used as a
URL path segment. A name derived from what is being computed (asset, partition) and by which
run makes a retry find its own batch again, and a Livy restart detectable (see batches.py).
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME_LEN = 200
_UNSAFE = re.compile(r"[^a-z0-9_.-]+")


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
    return name
