"""``backproof serve`` as a process: the missed run at start-up, SIGTERM during a job, the
leftover temporary databases, and the refusal to listen beyond loopback without a token.

A job is held "running" by an exclusive lock on the demo's SQLite database: the backup's
snapshot waits for it, so the test decides when the job can go on.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from service_processes import ServeProcess, wait_for

from backproof.clock import utc_now
from backproof.config.models import Settings
from backproof.demo import DemoLayout
from backproof.jobs.context import open_context
from backproof.state.activities import Activity
from sqlite_leftovers import leave_scratch

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


def temporary_folder(demo: DemoLayout) -> Path:
    """The TMPDIR the tests' ``backproof serve`` runs with (see ``ServeProcess``)."""
    return demo.folder / "tmp"


def record_a_missed_run(settings: Settings) -> None:
    """Record the last chain two days ago, so that serve starts one at once."""
    two_days_ago = utc_now() - timedelta(days=2)
    context = open_context(settings, lambda: two_days_ago)
    context.activities.record("backup", "crm", "success", "the run before the service was down")
    context.activities.engine.dispose()


def backup_rows(settings: Settings) -> list[Activity]:
    """Return the backup rows, newest first."""
    context = open_context(settings)
    rows = context.activities.find(job="backup", target="crm")
    context.activities.engine.dispose()
    return rows


def all_rows(settings: Settings) -> list[Activity]:
    context = open_context(settings)
    rows = context.activities.find(limit=None)
    context.activities.engine.dispose()
    return rows


@pytest.fixture
def locked_database(demo: DemoLayout) -> Iterator[sqlite3.Connection]:
    """Hold an exclusive lock on the demo's database until the test closes it."""
    connection = sqlite3.connect(demo.folder / "crm.db", isolation_level=None)
    connection.execute("PRAGMA locking_mode=EXCLUSIVE")
    connection.execute("BEGIN EXCLUSIVE")
    yield connection
    connection.close()


def wait_for_running_backup(settings: Settings, service: ServeProcess) -> None:
    wait_for(
        lambda: (
            any(row.status == "running" for row in backup_rows(settings))
            or service.process.poll() is not None
        ),
        "the missed run's backup to start",
    )
    assert service.process.poll() is None, service.log


def test_sigterm_records_a_job_still_running_after_the_grace_as_interrupted(
    demo: DemoLayout,
    settings: Settings,
    start_serve: Callable[..., ServeProcess],
    locked_database: sqlite3.Connection,
) -> None:
    record_a_missed_run(settings)
    service = start_serve({"BACKPROOF_SCHEDULE__SHUTDOWN_GRACE_SECONDS": "0.2"})
    wait_for_running_backup(settings, service)

    code = service.terminate()

    assert code == 0, service.log
    newest = backup_rows(settings)[0]
    assert newest.status == "failed"
    assert "interrupted: the service stopped" in (newest.message or "")
    assert [row for row in all_rows(settings) if row.status == "running"] == []
    assert "recorded backup of crm" in service.log
    # The interrupted backup's snapshot folder went with the service's temporary root.
    assert list(temporary_folder(demo).iterdir()) == []


def test_sigterm_lets_the_running_job_finish_and_skips_the_rest_of_the_chain(
    settings: Settings,
    start_serve: Callable[..., ServeProcess],
    locked_database: sqlite3.Connection,
) -> None:
    record_a_missed_run(settings)
    service = start_serve({"BACKPROOF_SCHEDULE__SHUTDOWN_GRACE_SECONDS": "60"})
    wait_for_running_backup(settings, service)
    service.process.terminate()
    wait_for(lambda: "stopping: waiting up to 60 s" in service.log, "serve to start stopping")

    locked_database.close()
    code = service.terminate()

    assert code == 0, service.log
    assert backup_rows(settings)[0].status == "success"
    jobs = {row.job for row in all_rows(settings)}
    assert jobs == {"backup"}
    assert "cleanup: the service is stopping" in service.log


def test_startup_drops_leftover_temporary_databases_before_serving(
    settings: Settings, start_serve: Callable[..., ServeProcess]
) -> None:
    scratch = settings.state.lock_dir.parent / "verify"
    leftover = leave_scratch(scratch, "verify_crm_20261126t010000z_0a1b2c")
    unrelated = scratch / "notes.sqlite"
    unrelated.write_bytes(b"not ours")

    service = start_serve()

    assert not leftover.exists()
    assert unrelated.exists()
    assert f"dropped leftover temporary databases of crm: {leftover.name}" in service.log
    assert service.terminate() == 0


def test_startup_removes_the_temporary_folder_of_a_service_that_is_gone(
    demo: DemoLayout, start_serve: Callable[..., ServeProcess]
) -> None:
    folder = temporary_folder(demo)
    folder.mkdir(exist_ok=True)
    ended = subprocess.Popen(["true"])
    ended.wait()
    abandoned = folder / f"backproof-serve-{ended.pid}-k3j2"
    (abandoned / "backproof-x1").mkdir(parents=True)
    (abandoned / "backproof-x1" / "snapshot.db").write_bytes(b"half a snapshot")
    alive = folder / f"backproof-serve-{os.getpid()}-a9b8"
    alive.mkdir()

    service = start_serve()

    assert not abandoned.exists()
    assert alive.exists()
    assert f"removed {abandoned}, left by a backproof serve or worker that is gone" in service.log
    assert service.terminate() == 0
    assert sorted(folder.iterdir()) == [alive]


def test_serve_refuses_to_listen_beyond_loopback_without_a_token(run_cli: CliRunner) -> None:
    result = run_cli("serve", "--host", "0.0.0.0", "--port", "0")  # noqa: S104 - refused

    assert result.returncode == 2
    assert "refusing to listen on '0.0.0.0' without a token" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_names_the_key_of_an_invalid_schedule(run_cli: CliRunner) -> None:
    result = run_cli("serve", "--port", "0", env={"BACKPROOF_SCHEDULE__CRON": "0 25 * * *"})

    assert result.returncode == 2
    assert "at schedule.cron: '0 25 * * *'" in result.stderr
