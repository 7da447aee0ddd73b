"""Fixtures of the web tests: a state database on a clock the test sets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web_history import NOW, make_settings

from backproof.jobs.context import Context, open_context
from hand_clock import HandClock


@pytest.fixture
def clock() -> HandClock:
    return HandClock(NOW)


@pytest.fixture
def web_context(tmp_path: Path, clock: HandClock) -> Iterator[Context]:
    context = open_context(make_settings(tmp_path), clock)
    yield context
    context.activities.engine.dispose()
