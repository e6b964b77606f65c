"""What the sections share: the stack, the Dagster instance and definitions, options, results."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from bench.report import Report
from bench.stack import BenchStack


@dataclass
class Context:
    args: argparse.Namespace
    report: Report
    stack: BenchStack
    instance: dg.DagsterInstance
    defs: Any                      # dagster_livy.lakehouse.definitions.defs (imported after env setup)
    dates: dict[str, str]
    budget_s: float
    results: dict[str, Any] = field(default_factory=dict)

    def job(self, name: str) -> dg.JobDefinition:
        return self.defs.resolve_job_def(name)
