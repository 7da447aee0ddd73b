"""Fixtures of the job tests: the demo's settings on an in-memory destination, a manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from backproof.config.models import Settings
from backproof.jobs.context import Context, open_context
from backproof.storage.memory import MemoryStorage

START = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


class ManualClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def memory_storage() -> MemoryStorage:
    return MemoryStorage("local")


@pytest.fixture
def memory_context(
    settings: Settings, manual_clock: ManualClock, memory_storage: MemoryStorage
) -> Iterator[Context]:
    """The demo's job context with its destination replaced by the in-memory twin."""
    context = open_context(settings, manual_clock)
    context.storages["local"] = memory_storage
    yield context
    context.activities.engine.dispose()
