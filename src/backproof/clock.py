"""The one place backproof reads the time: timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def isoformat(moment: datetime | None) -> str | None:
    """Return ISO 8601 in UTC with an offset (``2026-11-26T01:00:00+00:00``), or None."""
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="seconds")
