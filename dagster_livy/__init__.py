"""dagster-livy: run Spark from Dagster through Apache Livy.

Layers (never importing upward): the REST client and models (no Dagster) -> the Dagster
resource and Pipes client, and the Jupyter kernel `pyspark-livy` (dagster_livy.jupyter, no
Dagster) -> the lakehouse pipeline's definitions (dagster_livy.lakehouse).
"""

from dagster_livy.batches import BatchResult, BatchRunner, PollPolicy
from dagster_livy.client import LivyClient
from dagster_livy.errors import (
    LivyBatchFailedError,
    LivyConfigError,
    LivyConnectionError,
    LivyDuplicateNameError,
    LivyError,
    LivyHTTPError,
    LivyNotFoundError,
    LivyStatementError,
    LivyTimeoutError,
)
from dagster_livy.models import Batch, LivyState, LogPage, Session, Statement, StatementState

__all__ = [
    "Batch", "BatchResult", "BatchRunner", "LivyBatchFailedError", "LivyClient", "LivyConfigError",
    "LivyConnectionError", "LivyDuplicateNameError", "LivyError", "LivyHTTPError", "LivyNotFoundError",
    "LivyResource", "LivyState", "LivyStatementError", "LivyTimeoutError", "LogPage", "PipesLivyClient",
    "PollPolicy", "Session", "Statement", "StatementState",
]


def __getattr__(name: str):
    # The Dagster layer is imported lazily so the REST client works without importing Dagster.
    if name == "LivyResource":
        from dagster_livy.resource import LivyResource
        return LivyResource
    if name == "PipesLivyClient":
        from dagster_livy.pipes import PipesLivyClient
        return PipesLivyClient
    raise AttributeError(f"module 'dagster_livy' has no attribute {name!r}")
