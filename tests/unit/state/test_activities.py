"""The audit trail: rows written before the work, finished after, found and counted."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from backproof.state.activities import MESSAGE_LIMIT, ActivityLog
from backproof.state.database import create_state_engine
from backproof.state.schema import ops_activities
from hand_clock import HandClock

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> HandClock:
    return HandClock(NOW)


@pytest.fixture
def log(tmp_path: Path, clock: HandClock) -> Iterator[ActivityLog]:
    engine = create_state_engine(f"sqlite:///{tmp_path}/state.db", tmp_path / "locks")
    yield ActivityLog(engine, clock)
    engine.dispose()


def dead_pid() -> int:
    """Return the pid of a process that has ended."""
    process = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(process.stdout)


def set_pid(log: ActivityLog, activity_id: int, pid: int) -> None:
    """Pretend another process wrote the row."""
    with log.engine.begin() as connection:
        statement = sa.update(ops_activities).where(ops_activities.c.id == activity_id)
        connection.execute(statement.values(pid=pid))


def test_start_writes_a_running_row(log: ActivityLog) -> None:
    activity = log.get(log.start("backup", "crm", {"destination": "local"}))

    assert activity.status == "running"
    assert activity.finished_at is None
    assert activity.meta == {"destination": "local"}
    assert activity.started_at == NOW


def test_finish_records_status_duration_message_and_merged_meta(
    log: ActivityLog, clock: HandClock
) -> None:
    activity_id = log.start("backup", "crm", {"destination": "local"})
    clock.now = NOW + timedelta(seconds=2.5)

    activity = log.finish(activity_id, "success", "done", {"size_bytes": 10}, "20261126T010000Z-a")

    assert activity.status == "success"
    assert activity.duration_ms == 2500
    assert activity.message == "done"
    assert activity.meta == {"destination": "local", "size_bytes": 10}
    assert activity.backup_id == "20261126T010000Z-a"


def test_times_read_back_are_utc_aware(log: ActivityLog, clock: HandClock) -> None:
    activity_id = log.start("verify", "crm")
    clock.now = NOW + timedelta(minutes=1)

    activity = log.finish(activity_id, "success", "ok")

    assert activity.started_at.tzinfo is UTC
    assert activity.finished_at is not None
    assert activity.finished_at.utcoffset() == timedelta(0)


def test_start_refuses_a_naive_time(tmp_path: Path) -> None:
    engine = create_state_engine(f"sqlite:///{tmp_path}/state.db", tmp_path / "locks")
    log = ActivityLog(engine, lambda: datetime(2026, 1, 1))  # noqa: DTZ001 - the point

    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        log.start("backup", "crm")
    engine.dispose()


def test_finish_masks_a_password_in_the_message(log: ActivityLog) -> None:
    activity = log.finish(
        log.start("backup", "crm"), "failed", "cannot reach postgresql://u:hunter2@db/crm"
    )

    assert activity.message == "cannot reach postgresql://u:***@db/crm"


def test_finish_clips_a_long_message(log: ActivityLog) -> None:
    activity = log.finish(log.start("backup", "crm"), "failed", "x" * (MESSAGE_LIMIT + 50))

    assert activity.message is not None
    assert len(activity.message) == MESSAGE_LIMIT


def test_find_returns_newest_first(log: ActivityLog, clock: HandClock) -> None:
    first = log.record("backup", "crm", "success", "one")
    clock.now = NOW + timedelta(hours=1)
    second = log.record("backup", "crm", "success", "two")

    assert [activity.id for activity in log.find()] == [second.id, first.id]


def test_find_filters_by_job_target_status_and_time(log: ActivityLog, clock: HandClock) -> None:
    log.record("backup", "crm", "success", "old")
    clock.now = NOW + timedelta(days=2)
    wanted = log.record("backup", "crm", "failed", "new")
    log.record("verify", "crm", "failed", "other job")
    log.record("backup", "shop", "failed", "other target")

    found = log.find(job="backup", target="crm", statuses=["failed"], since=NOW + timedelta(days=1))

    assert [activity.id for activity in found] == [wanted.id]


def test_count_by_status_counts_each_status_since_a_time(
    log: ActivityLog, clock: HandClock
) -> None:
    log.record("backup", "crm", "failed", "too old")
    clock.now = NOW + timedelta(days=1)
    for status in ("success", "success", "failed", "skipped"):
        log.record("backup", "crm", status, status)

    counts = log.count_by_status("backup", "crm", NOW + timedelta(hours=1))

    assert counts == {"success": 2, "failed": 1, "skipped": 1}


def test_latest_returns_the_newest_row_with_a_status(log: ActivityLog, clock: HandClock) -> None:
    wanted = log.record("verify", "crm", "success", "passed")
    clock.now = NOW + timedelta(hours=1)
    log.record("verify", "crm", "failed", "failed later")

    latest = log.latest("verify", "crm", ["success"])

    assert latest is not None
    assert latest.id == wanted.id


def test_proofs_say_when_each_backup_last_passed(log: ActivityLog, clock: HandClock) -> None:
    for hour, backup_id, status in ((1, "a", "success"), (2, "a", "success"), (3, "b", "failed")):
        clock.now = NOW + timedelta(hours=hour)
        log.finish(log.start("verify", "crm"), status, "", backup_id=backup_id)

    verified = log.proofs("crm", ["a", "b", "c"]).passed_at

    assert verified == {"a": NOW + timedelta(hours=2)}


def test_running_row_of_a_dead_process_is_marked_failed_as_stale(log: ActivityLog) -> None:
    activity_id = log.start("backup", "crm")
    set_pid(log, activity_id, dead_pid())

    stale = log.mark_stale(timedelta(hours=24))

    assert [activity.id for activity in stale] == [activity_id]
    row = log.get(activity_id)
    assert row.status == "failed"
    assert row.message is not None
    assert row.message.startswith("stale: ")
    assert row.meta["stale"] is True


def test_running_row_of_a_live_process_is_left_running(log: ActivityLog) -> None:
    activity_id = log.start("backup", "crm")

    stale = log.mark_stale(timedelta(hours=24))

    assert stale == []
    assert log.get(activity_id).status == "running"


def test_running_row_of_another_host_is_stale_only_after_the_limit(
    log: ActivityLog, clock: HandClock
) -> None:
    activity_id = log.start("backup", "crm")
    with log.engine.begin() as connection:
        statement = sa.update(ops_activities).where(ops_activities.c.id == activity_id)
        connection.execute(statement.values(host="elsewhere"))

    clock.now = NOW + timedelta(hours=23)
    assert log.mark_stale(timedelta(hours=24)) == []
    clock.now = NOW + timedelta(hours=25)
    assert [activity.id for activity in log.mark_stale(timedelta(hours=24))] == [activity_id]


def test_to_json_has_the_contract_keys_with_utc_offsets(log: ActivityLog) -> None:
    document = log.record("backup", "crm", "success", "ok", {"size_bytes": 1}).to_json()

    assert {
        "id",
        "job",
        "target",
        "status",
        "started_at",
        "finished_at",
        "duration_ms",
        "message",
        "meta",
    } <= set(document)
    assert document["started_at"] == "2026-11-26T01:00:00+00:00"
