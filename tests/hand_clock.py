"""The one clock of the tests: it stands still until the test moves or sets it."""

from __future__ import annotations

from datetime import datetime, timedelta

from backproof.clock import utc_now


class HandClock:
    """A clock the test moves by hand, so rows get the times a scenario needs."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or utc_now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0.0, *, hours: float = 0.0) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds, hours=hours)
