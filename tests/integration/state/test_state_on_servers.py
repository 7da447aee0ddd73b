"""The state database (``ops_activities``) on PostgreSQL and on MariaDB, as on SQLite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from state_servers import mariadb_database, postgresql_database

from backproof.config.models import Settings
from backproof.jobs.backup import run_backup
from backproof.jobs.context import open_context
from backproof.jobs.verify import run_verify
from backproof.state.activities import ActivityLog
from backproof.state.activity_statements import Slot
from backproof.state.database import create_state_engine
from backproof.state.schema import ops_activities
from backproof.state.trail_queries import backups_by_destinations, failing_kept_backups

NOW = datetime(2026, 11, 26, 1, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(params=["postgresql", "mariadb"])
def state_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of an empty state database on each server engine."""
    yield from (postgresql_database() if request.param == "postgresql" else mariadb_database())


@pytest.fixture
def log(state_url: str, tmp_path: Path) -> Iterator[ActivityLog]:
    engine = create_state_engine(state_url, tmp_path / "locks")
    yield ActivityLog(engine, lambda: NOW)
    engine.dispose()


def test_fresh_database_gets_the_schema_migrated(state_url: str, tmp_path: Path) -> None:
    engine = create_state_engine(state_url, tmp_path / "locks")
    tables = sa.inspect(engine).get_table_names()
    engine.dispose()

    assert {"ops_activities", "alembic_version"} <= set(tables)


def test_concurrent_first_opens_migrate_once(state_url: str, tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def open_state() -> None:
        try:
            create_state_engine(state_url, tmp_path / "locks").dispose()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_state) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []


def test_activity_round_trips_times_meta_and_unicode(log: ActivityLog) -> None:
    meta = {"zpráva": "záloha hotová 🎉", "size_bytes": 2**40, "nested": {"list": [1, None]}}
    activity_id = log.start("backup", "crm", meta)
    log.set_backup_id(activity_id, "20261126T010000Z-abc123")

    finished = log.finish(activity_id, "success", "hotovo ✓ " + "x" * 5000, {"rows": 7})

    assert finished.started_at == NOW
    assert finished.finished_at == NOW
    assert finished.meta == {**meta, "rows": 7}
    assert finished.backup_id == "20261126T010000Z-abc123"
    assert finished.message is not None and finished.message.startswith("hotovo ✓ ")
    assert log.latest("backup", "crm", ["success"]) == finished


def test_activities_are_found_and_counted_by_job_target_and_time(log: ActivityLog) -> None:
    for status in ("success", "failed", "success"):
        log.record("verify", "crm", status, status)
    log.record("verify", "other", "failed", "elsewhere")

    counts = log.count_by_status("verify", "crm", NOW - timedelta(days=7))
    found = log.find(job="verify", target="crm", statuses=["failed"])

    assert counts == {"success": 2, "failed": 1}
    assert [activity.message for activity in found] == ["failed"]
    assert log.count_by_status("verify", "crm", NOW + timedelta(seconds=1)) == {}


def test_scrape_reads_counts_and_last_runs_in_one_statement_each(log: ActivityLog) -> None:
    for job, status in (("backup", "success"), ("backup", "failed"), ("verify", "success")):
        log.record(job, "crm", status, f"{job} {status}")
    log.record("cleanup", "crm", "failed", "cleanup failed")

    counts = log.count_by_job_and_status(("backup", "verify"), "crm", NOW - timedelta(days=7))
    backups, cleanups, passed_cleanups = log.rows_by_slot(
        "crm",
        (
            Slot("backup", ("success",)),
            Slot("cleanup", ("success", "failed")),
            Slot("cleanup", ("success",)),
        ),
    )

    assert counts == {("backup", "success"): 1, ("backup", "failed"): 1, ("verify", "success"): 1}
    assert [row.message for row in backups] == ["backup success"]
    assert [row.message for row in cleanups] == ["cleanup failed"]
    assert passed_cleanups == []


def test_backup_and_verify_record_their_runs_in_a_server_state_database(
    state_url: str, tmp_path: Path
) -> None:
    crm = tmp_path / "crm.db"
    sa.create_engine(f"sqlite:///{crm}").dispose()
    with sa.create_engine(f"sqlite:///{crm}").begin() as connection:
        connection.execute(sa.text("CREATE TABLE companies (id INTEGER PRIMARY KEY, name TEXT)"))
        connection.execute(sa.text("INSERT INTO companies VALUES (1, 'Čokoládovna')"))
    settings = Settings.model_validate(
        {
            "state": {"url": state_url, "lock_dir": str(tmp_path / "locks")},
            "targets": [
                {"name": "crm", "database": f"sqlite:///{crm}", "key_tables": ["companies"]}
            ],
            "destinations": [{"name": "local", "url": f"file://{tmp_path / 'backups'}"}],
            "verify": {"url": f"sqlite:///{tmp_path / 'scratch'}"},
        }
    )
    context = open_context(settings)
    try:
        backup = run_backup(context)
        run_verify(context)
        verified = context.activities.proofs("crm", [backup.backup_id]).passed_at
        jobs = [activity.job for activity in context.activities.find(target="crm")]
    finally:
        context.activities.engine.dispose()

    assert list(verified) == [backup.backup_id]
    assert jobs == ["verify", "backup"]


def _insert(
    log: ActivityLog, rows: list[tuple[str, str, int, str | None, dict[str, object]]]
) -> None:
    """Insert finished rows of ``crm``: (job, status, hours before NOW, backup id, meta)."""
    with log.engine.begin() as connection:
        for job, status, hours, backup_id, meta in rows:
            started = NOW - timedelta(hours=hours)
            connection.execute(
                sa.insert(ops_activities).values(
                    job=job,
                    target="crm",
                    status=status,
                    started_at=started,
                    finished_at=started + timedelta(seconds=5),
                    meta=meta,
                    backup_id=backup_id,
                )
            )


def test_scrape_reads_failing_backups_and_destinations_in_the_database(log: ActivityLog) -> None:
    big = {"size_bytes": 2**40, "destinations": ["local", "offsite"]}
    _insert(
        log,
        [
            ("backup", "success", 50, "b-old", big),
            ("cleanup", "success", 40, None, {"stored": {"local": {"backups": 1}}}),
            ("backup", "success", 30, "b-1", big),
            ("backup", "success", 29, "b-2", {"size_bytes": 5, "destinations": ["local"]}),
            ("backup", "success", 28, "b-3", {}),
            ("verify", "failed", 20, "b-1", {}),
            ("verify", "failed", 19, "b-2", {}),
            ("verify", "success", 18, "b-2", {}),  # proved again: no longer failing
            ("verify", "failed", 17, "b-3", {}),
            ("cleanup", "success", 16, None, {"deleted": {"local": ["b-3"]}}),
        ],
    )
    cleanup = log.latest("cleanup", "crm", ["success"])
    assert cleanup is not None

    verifies, failing = log.rows_by_slot(
        "crm",
        (
            Slot("verify", ("success", "failed"), limit=2),
            Slot("verify", ("failed",), limit=10, among=(("success", "failed"), 100)),
        ),
    )
    made = backups_by_destinations(log, "crm", NOW - timedelta(hours=45), 1000)

    assert [row.backup_id for row in verifies] == ["b-3", "b-2"]
    assert [row.backup_id for row in failing] == ["b-3", "b-1"]
    assert [row.backup_id for row in failing_kept_backups(log, "crm", failing, None)] == ["b-1"]
    assert made == {"local": (2, 2**40 + 5), "offsite": (1, 2**40)}
    assert backups_by_destinations(log, "crm", None, 1000)["offsite"] == (2, 2**41)
