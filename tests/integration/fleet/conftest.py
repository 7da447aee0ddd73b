"""Fixtures of the fleet tests: a private Redis broker, a PostgreSQL state database, workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet_processes import RedisBroker, StateDatabase, Workers


@pytest.fixture
def state_db() -> Iterator[StateDatabase]:
    """A PostgreSQL state database of the test, dropped afterwards."""
    database = StateDatabase()
    try:
        database.create()
    except Exception as exc:
        pytest.fail(f"the PostgreSQL server on 127.0.0.1:5432 is needed: {exc}")
    yield database
    database.drop()


@pytest.fixture
def redis_broker(tmp_path: Path) -> Iterator[RedisBroker]:
    """A redis-server of the test on a free port, stopped afterwards."""
    broker = RedisBroker(tmp_path / "redis")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    """Worker processes of the test (started by the test), killed afterwards."""
    started = Workers(tmp_path / "backproof.toml")
    yield started
    started.stop_all()
