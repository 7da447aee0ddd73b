"""Runs that overlap or die: a second backup is skipped, a killed one leaves nothing valid."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

from cli_user import User, wait_for

NO_WAIT = {"BACKPROOF_STATE__LOCK_WAIT_SECONDS": "0.5"}
DEBRIS_AT_ONCE = {"BACKPROOF_RETENTION__DEBRIS_MIN_AGE_HOURS": "0"}


def partial_files(user: User) -> list[Path]:
    """Return the uploads in progress in the local destination."""
    return sorted(user.backups.rglob("*.partial")) if user.backups.exists() else []


def test_second_backup_waits_then_is_recorded_skipped_and_the_first_completes(
    user: User, locked_database: sqlite3.Connection
) -> None:
    first = user.spawn("backup")
    wait_for(lambda: bool(partial_files(user)), "the first backup to start writing")

    second = user.run("backup", env=NO_WAIT)
    locked_database.execute("ROLLBACK")
    first_stdout, first_stderr = first.communicate(timeout=60)

    assert second.returncode == 1
    assert second.stdout == ""
    assert "another backup of target 'crm' is running; waited 0.5 s" in second.stderr
    assert first.returncode == 0, first_stderr
    statuses = sorted(item["status"] for item in user.audit_rows("backup"))
    assert statuses == ["skipped", "success"]
    assert user.ok("verify").startswith(f"verify passed: backup {first_stdout.strip()}")


def test_killed_backup_leaves_nothing_that_list_shows(
    user: User, locked_database: sqlite3.Connection
) -> None:
    backup = user.spawn("backup")
    wait_for(lambda: bool(partial_files(user)), "the backup to start writing")

    backup.send_signal(signal.SIGKILL)
    backup.communicate(timeout=60)
    locked_database.execute("ROLLBACK")

    assert user.json("list")["backups"] == []


def test_killed_backup_is_marked_failed_as_stale_by_the_next_run(
    user: User, locked_database: sqlite3.Connection
) -> None:
    backup = user.spawn("backup")
    wait_for(lambda: bool(partial_files(user)), "the backup to start writing")
    backup.send_signal(signal.SIGKILL)
    backup.communicate(timeout=60)
    locked_database.execute("ROLLBACK")
    assert user.audit_rows("backup")[0]["status"] == "running"

    user.ok("cleanup")

    killed = user.audit_rows("backup")[0]
    assert killed["status"] == "failed"
    assert killed["message"].startswith("stale: ")
    assert killed["finished_at"] is not None


def test_cleanup_removes_the_debris_of_a_killed_backup(
    user: User, locked_database: sqlite3.Connection
) -> None:
    backup = user.spawn("backup")
    wait_for(lambda: bool(partial_files(user)), "the backup to start writing")
    backup.send_signal(signal.SIGKILL)
    backup.communicate(timeout=60)
    locked_database.execute("ROLLBACK")

    output = user.ok("cleanup", env=DEBRIS_AT_ONCE)

    assert "removed incomplete upload" in output
    assert partial_files(user) == []
    assert list(user.backups.rglob("*")) == []


def test_lock_of_a_killed_backup_is_reclaimed_by_the_next_one(
    user: User, locked_database: sqlite3.Connection
) -> None:
    backup = user.spawn("backup")
    wait_for(lambda: bool(partial_files(user)), "the backup to start writing")
    backup.send_signal(signal.SIGKILL)
    backup.communicate(timeout=60)
    locked_database.execute("ROLLBACK")

    process = user.run("backup", env=NO_WAIT)

    assert process.returncode == 0, process.stderr
    assert len(user.json("list")["backups"]) == 1


def test_terminated_backup_records_why_and_leaves_no_partial_files(
    user: User, locked_database: sqlite3.Connection
) -> None:
    backup = user.spawn("backup")
    wait_for(lambda: bool(partial_files(user)), "the backup to start writing")

    backup.send_signal(signal.SIGTERM)
    locked_database.execute("ROLLBACK")
    _stdout, stderr = backup.communicate(timeout=60)

    assert backup.returncode == 130, stderr
    assert "interrupted" in stderr
    assert partial_files(user) == []
    activity = user.audit_rows("backup")[0]
    assert activity["status"] == "failed"
    assert activity["message"] == "interrupted (SIGINT or SIGTERM)"
