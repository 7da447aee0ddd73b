"""Fixtures of the web tests: a state database on a clock the test sets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web_history import NOW, SteppingClock, make_settings

from backproof.jobs.context import Context, open_context


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(NOW)


@pytest.fixture
def web_context(tmp_path: Path, clock: SteppingClock) -> Iterator[Context]:
    context = open_context(make_settings(tmp_path), clock)
    yield context
    context.activities.engine.dispose()
