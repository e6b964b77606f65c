"""The lakehouse's one source of "now".

Everything that decides by the time of day — the freshness checks, the demo's date range — asks
this clock, never the wall clock directly, so tests and replays can pin the instant
(`LakehouseClock(frozen_at="2026-11-01T05:59:00+00:00")`, or LAKEHOUSE_NOW in the environment).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
from pydantic import Field, field_validator


def parse_instant(value: str, what: str = "LAKEHOUSE_NOW") -> dt.datetime:
    """An ISO-8601 instant; naive values are taken as UTC. Errors name the setting."""
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} must be an ISO-8601 instant such as 2026-11-01T05:59:00+00:00, "
                         f"got {value!r}") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.timezone.utc)


class LakehouseClock(dg.ConfigurableResource):
    """Tells the current instant (UTC); `frozen_at` pins it."""

    frozen_at: str | None = Field(
        default=None, description="ISO-8601 instant to use instead of the wall clock (tests, replays).")

    @field_validator("frozen_at")
    @classmethod
    def _valid(cls, value: str | None) -> str | None:
        if value is not None:
            parse_instant(value, "frozen_at")
        return value

    def now(self) -> dt.datetime:
        if self.frozen_at is not None:
            return parse_instant(self.frozen_at, "frozen_at").astimezone(dt.timezone.utc)
        return dt.datetime.now(dt.timezone.utc)

    def today(self) -> dt.date:
        return self.now().date()
