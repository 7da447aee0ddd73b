"""The life of a job run: one at a time, recorded from start to end, stale rows failed."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from backproof.errors import LockTimeoutError, SourceError
from backproof.jobs.context import Context
from backproof.jobs.lifecycle import recorded_run
from backproof.state.activities import Activity
from backproof.state.locks import hold_run_lock
from backproof.state.records import BackupMeta, CleanupMeta, VerifyMeta
from backproof.state.schema import ops_activities


def test_run_is_recorded_running_before_the_work(memory_context: Context) -> None:
    with recorded_run(memory_context, BackupMeta(), "crm"):
        during = memory_context.activities.find(job="backup")[0].status

    assert during == "running"
    assert memory_context.activities.find(job="backup")[0].status == "success"


def test_error_finishes_the_row_failed_with_the_message(memory_context: Context) -> None:
    with pytest.raises(SourceError), recorded_run(memory_context, BackupMeta(), "crm"):
        raise SourceError("the database is gone")

    activity = memory_context.activities.find(job="backup")[0]
    assert (activity.status, activity.message) == ("failed", "the database is gone")


def test_unexpected_error_is_recorded_as_an_internal_error(memory_context: Context) -> None:
    with pytest.raises(ZeroDivisionError), recorded_run(memory_context, VerifyMeta(), "crm"):
        _ = 1 / 0

    message = memory_context.activities.find(job="verify")[0].message or ""
    assert message.startswith("internal error: ZeroDivisionError")


def test_second_run_while_the_lock_is_held_is_recorded_skipped(memory_context: Context) -> None:
    memory_context.settings.state.lock_wait_seconds = 0.1
    lock_dir = memory_context.settings.state.lock_dir

    with (
        hold_run_lock(lock_dir, "backup", "crm", 0),
        pytest.raises(LockTimeoutError),
        recorded_run(memory_context, BackupMeta(), "crm"),
    ):
        pytest.fail("the second run must not start")

    activity = memory_context.activities.find(job="backup")[0]
    assert activity.status == "skipped"
    assert "another backup of target 'crm' is running" in (activity.message or "")


def test_next_run_fails_the_running_row_of_a_killed_process(memory_context: Context) -> None:
    abandoned = memory_context.activities.start("backup", "crm")
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    with memory_context.activities.engine.begin() as connection:
        statement = sa.update(ops_activities).where(ops_activities.c.id == abandoned)
        connection.execute(statement.values(pid=int(ended.stdout)))

    with recorded_run(memory_context, CleanupMeta(), "crm"):
        pass

    row = memory_context.activities.get(abandoned)
    assert row.status == "failed"
    assert (row.message or "").startswith("stale: ")


def test_next_run_fails_a_running_row_whose_pid_was_reused(memory_context: Context) -> None:
    abandoned = memory_context.activities.start("backup", "crm")
    with memory_context.activities.engine.begin() as connection:
        statement = sa.update(ops_activities).where(ops_activities.c.id == abandoned)
        connection.execute(statement.values(pid=1))  # alive, but not a backup: init after a reboot

    with recorded_run(memory_context, BackupMeta(), "crm"):
        pass

    assert memory_context.activities.get(abandoned).status == "failed"


def test_run_leaves_a_running_row_of_another_target_alone(memory_context: Context) -> None:
    other = memory_context.activities.start("backup", "shop")
    with memory_context.activities.engine.begin() as connection:
        statement = sa.update(ops_activities).where(ops_activities.c.id == other)
        connection.execute(statement.values(pid=1))

    with recorded_run(memory_context, BackupMeta(), "crm"):
        pass

    assert memory_context.activities.get(other).status == "running"


def test_fields_set_before_a_failure_are_stored_with_the_failed_row(
    memory_context: Context,
) -> None:
    with (
        pytest.raises(SourceError),
        recorded_run(memory_context, VerifyMeta(destination="local"), "crm") as record,
    ):
        record.meta.authentication = "signature checked"
        raise SourceError("the restore failed")

    activity = memory_context.activities.find(job="verify")[0]
    assert activity.meta == {"destination": "local", "authentication": "signature checked"}


def test_after_run_hooks_get_the_finished_row_in_order(memory_context: Context) -> None:
    seen: list[tuple[str, str, str]] = []
    memory_context.after_run.append(lambda _c, row: seen.append(("first", row.job, row.status)))
    memory_context.after_run.append(lambda _c, row: seen.append(("second", row.job, row.status)))

    with recorded_run(memory_context, BackupMeta(), "crm"):
        assert seen == []

    assert seen == [("first", "backup", "success"), ("second", "backup", "success")]


def test_failing_hook_neither_fails_the_job_nor_stops_the_next(memory_context: Context) -> None:
    def broken(_context: Context, _row: Activity) -> None:
        raise RuntimeError("a bug in a hook")

    seen: list[str] = []
    memory_context.after_run.extend([broken, lambda _c, row: seen.append(row.status)])

    with recorded_run(memory_context, CleanupMeta(), "crm") as record:
        record.message = "cleaned"

    assert seen == ["success"]
    assert memory_context.activities.find(job="cleanup")[0].status == "success"


def test_skipped_run_is_told_to_the_hooks(memory_context: Context) -> None:
    memory_context.settings.state.lock_wait_seconds = 0.1
    seen: list[str] = []
    memory_context.after_run.append(lambda _c, row: seen.append(row.status))

    with (
        hold_run_lock(memory_context.settings.state.lock_dir, "backup", "crm", 0),
        pytest.raises(LockTimeoutError),
        recorded_run(memory_context, BackupMeta(), "crm"),
    ):
        pytest.fail("the second run must not start")

    assert seen == ["skipped"]
