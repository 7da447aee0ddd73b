"""Fixtures of the alert unit tests: a real SQLite state database, a hand-moved clock, twins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alert_twins import NOW, Twins, make_settings

from backproof.jobs.context import Context, open_context
from hand_clock import HandClock


@pytest.fixture
def clock() -> HandClock:
    return HandClock(NOW)


@pytest.fixture
def context(tmp_path: Path, clock: HandClock) -> Iterator[Context]:
    context = open_context(make_settings(tmp_path), clock)
    yield context
    context.activities.engine.dispose()


@pytest.fixture
def twins() -> Twins:
    return Twins()
