"""Fixtures of the job tests: the demo's settings on an in-memory destination, a manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from backproof.config.models import Settings
from backproof.jobs.context import Context, open_context
from backproof.storage.memory import MemoryStorage
from hand_clock import HandClock

START = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


@pytest.fixture
def manual_clock() -> HandClock:
    return HandClock(START)


@pytest.fixture
def memory_storage(manual_clock: HandClock) -> MemoryStorage:
    """The in-memory destination; it stamps what it stores with the test's clock, as a real
    storage stamps with a clock that agrees with the host's."""
    return MemoryStorage("local", clock=manual_clock)


@pytest.fixture
def memory_context(
    settings: Settings, manual_clock: HandClock, memory_storage: MemoryStorage
) -> Iterator[Context]:
    """The demo's job context with its destination replaced by the in-memory twin."""
    context = open_context(settings, manual_clock)
    context.storages["local"] = memory_storage
    yield context
    context.activities.engine.dispose()
