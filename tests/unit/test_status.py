"""The figures of a target, read from the audit trail as of a given time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backproof.state.activities import ActivityLog
from backproof.state.database import create_state_engine
from backproof.status import collect_figures
from hand_clock import HandClock

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> HandClock:
    return HandClock(NOW)


@pytest.fixture
def log(tmp_path: Path, clock: HandClock) -> Iterator[ActivityLog]:
    engine = create_state_engine(f"sqlite:///{tmp_path}/state.db", tmp_path / "locks")
    yield ActivityLog(engine, clock)
    engine.dispose()


def add(
    log: ActivityLog,
    clock: HandClock,
    job: str,
    status: str,
    hours_ago: float,
    target: str = "crm",
    **meta: Any,
) -> None:
    """Record a run that started ``hours_ago`` before NOW and took a minute."""
    clock.now = NOW - timedelta(hours=hours_ago)
    activity_id = log.start(job, target)
    clock.now += timedelta(minutes=1)
    log.finish(activity_id, status, job, meta)
    clock.now = NOW


def test_no_history_gives_no_rates_and_no_ages(log: ActivityLog) -> None:
    figures = collect_figures(log, "crm", NOW, 7)

    assert figures.backup_success_rate is None
    assert figures.verify_success_rate is None
    assert figures.newest_backup_age_hours is None
    assert figures.restore_duration_seconds_last is None


def test_success_rates_count_only_finished_runs_in_the_window(
    log: ActivityLog, clock: HandClock
) -> None:
    add(log, clock, "backup", "failed", 24 * 8)
    for hours_ago, status in ((50, "success"), (30, "failed"), (10, "success"), (5, "skipped")):
        add(log, clock, "backup", status, hours_ago)
    add(log, clock, "backup", "success", 1, target="shop")

    figures = collect_figures(log, "crm", NOW, 7)

    assert (figures.backups_succeeded, figures.backups_total) == (2, 3)
    assert figures.backup_success_rate == pytest.approx(2 / 3)


def test_newest_backup_age_is_from_the_newest_successful_backup(
    log: ActivityLog, clock: HandClock
) -> None:
    add(log, clock, "backup", "success", 10)
    add(log, clock, "backup", "failed", 2)

    figures = collect_figures(log, "crm", NOW, 7)

    assert figures.newest_backup_age_hours == pytest.approx(10 - 1 / 60)


def test_previous_and_newest_dump_sizes_come_from_the_two_newest_backups(
    log: ActivityLog, clock: HandClock
) -> None:
    add(log, clock, "backup", "success", 48, db_raw_size_bytes=3000)
    add(log, clock, "backup", "success", 24, db_raw_size_bytes=2000)
    add(log, clock, "backup", "success", 1, db_raw_size_bytes=1000, size_bytes=400)

    figures = collect_figures(log, "crm", NOW, 7)

    assert figures.newest_dump_size_bytes == 1000
    assert figures.previous_dump_size_bytes == 2000
    assert figures.newest_backup_size_bytes == 400


def test_consecutive_verify_failures_count_from_the_newest(
    log: ActivityLog, clock: HandClock
) -> None:
    for hours_ago, status in ((40, "failed"), (30, "success"), (20, "failed"), (10, "failed")):
        add(log, clock, "verify", status, hours_ago)

    figures = collect_figures(log, "crm", NOW, 7)

    assert figures.consecutive_verify_failures == 2
    assert figures.last_passed_verify is not None
    assert figures.last_verify_age_hours == pytest.approx(30 - 1 / 60)


def test_restore_trend_lists_passed_verifies_oldest_first(
    log: ActivityLog, clock: HandClock
) -> None:
    add(log, clock, "verify", "success", 30, restore_duration_seconds=3.0)
    add(log, clock, "verify", "failed", 20)
    add(log, clock, "verify", "success", 10, restore_duration_seconds=4.5)

    figures = collect_figures(log, "crm", NOW, 7)

    assert [seconds for _moment, seconds in figures.restore_trend] == [3.0, 4.5]
    assert figures.restore_duration_seconds_last == 4.5


def test_missing_destinations_of_the_newest_backup_are_reported(
    log: ActivityLog, clock: HandClock
) -> None:
    add(log, clock, "backup", "success", 1, failed_destinations=["offsite"])

    figures = collect_figures(log, "crm", NOW, 7)

    assert figures.newest_backup_missing_destinations == ["offsite"]
