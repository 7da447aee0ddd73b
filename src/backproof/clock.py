"""The one place backproof reads the time: timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# How far a recorded time may run ahead of the clock, or two recorded times disagree, before
# the backup they describe is flagged as made with a wrong clock (issue 9, archive/skew.py).
SKEW_TOLERANCE = timedelta(minutes=5)


def utc_now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def isoformat(moment: datetime | None) -> str | None:
    """Return ISO 8601 in UTC with an offset (``2026-11-26T01:00:00+00:00``), or None."""
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="seconds")
