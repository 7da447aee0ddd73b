"""The alert state and its rate limit on PostgreSQL and MariaDB state databases (real servers).

The state database may be the application's own server, as in the original design; the
compare-and-set writes must hold there as on SQLite.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from backproof.alert_dispatch import alert_after_job
from backproof.alert_ratelimit import AlertRow
from backproof.alerts.memory import MemoryChannel
from backproof.alerts.registry import ChannelSet
from backproof.config.models import Settings
from backproof.jobs.context import Context, open_context
from backproof.state.alerts import AlertStore
from backproof.state.database import to_sqlalchemy_url
from hand_clock import HandClock

SERVERS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432",
    "mysql": "mysql://root@127.0.0.1:3306",
}
NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def admin_engine(server: str) -> sa.Engine:
    database = "postgres" if server.startswith("postgresql") else "mysql"
    return sa.create_engine(to_sqlalchemy_url(f"{server}/{database}"), isolation_level="AUTOCOMMIT")


@pytest.fixture(
    params=[
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mariadb),
    ]
)
def state_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty state database on the real server; dropped afterwards."""
    server = SERVERS[request.param]
    name = f"backproof_alerts_{secrets.token_hex(4)}"
    admin = admin_engine(server)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(f"the {request.param} server on 127.0.0.1 is needed: {exc.orig}")
    yield f"{server}/{name}"
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE {name}"))
    admin.dispose()


@pytest.fixture
def context(state_url: str, tmp_path: Path) -> Iterator[Context]:
    raw: dict[str, Any] = {
        "state": {"url": state_url, "lock_dir": str(tmp_path / "locks")},
        "targets": [{"name": "crm", "database": "sqlite:////nonexistent/crm.db"}],
        "destinations": [{"name": "memory", "url": "memory://alert-engines"}],
    }
    context = open_context(Settings.model_validate(raw), HandClock(NOW))
    yield context
    context.activities.engine.dispose()


def test_compare_and_set_holds_on_the_server(context: Context) -> None:
    store = AlertStore(context.activities.engine)
    row = AlertRow("backup_failed:crm", "crm", True, "7", NOW, 0, {"title": "Záloha"}, NOW, 1)

    assert store.save(None, row)
    assert not store.save(None, row)
    assert store.save(row, replace(row, suppressed_count=1, version=2))
    assert not store.save(row, replace(row, suppressed_count=9, version=2))
    assert store.get(row.key) == replace(row, suppressed_count=1, version=2)


def test_storm_sends_one_message_with_the_state_on_the_server(context: Context) -> None:
    slack = MemoryChannel("slack")
    clock = context.clock
    assert isinstance(clock, HandClock)

    for _ in range(100):
        clock.now += timedelta(seconds=0.5)
        activity = context.activities.record("backup", "crm", "failed", "disk plný")
        alert_after_job(context, activity, ChannelSet(primary=(slack,)))
    clock.now += timedelta(minutes=5)
    activity = context.activities.record("backup", "crm", "success", "ok")
    alert_after_job(context, activity, ChannelSet(primary=(slack,)))

    assert slack.events == [
        "backup of crm failed",
        "resolved: backup of crm succeeded again (+99 suppressed)",
    ]
