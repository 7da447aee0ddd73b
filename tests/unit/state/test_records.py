"""The typed records of ``activity.meta``: old rows read, new rows store what the first release
stored, and keys this version does not know survive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from backproof.state.activities import Activity
from backproof.state.records import (
    BackupMeta,
    CleanupMeta,
    HealthMeta,
    StoredSummary,
    VerifyMeta,
)

MOMENT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def row(job: str, meta: dict[str, Any]) -> Activity:
    return Activity(1, job, "crm", "success", MOMENT, MOMENT, 0, "", meta)


def test_backup_row_of_the_first_release_reads_every_field() -> None:
    stored = {
        "size_bytes": 2048,
        "db_raw_size_bytes": 4096,
        "parts": {"db": 2000, "files": 48},
        "destinations": ["local", "offsite"],
        "failed_destinations": [],
        "destination_errors": {},
        "encrypted": True,
        "signed": False,
        "tables": 2,
        "rows": 7,
        "notes": ["table logs is MyISAM"],
        "table_rows": {"customers": 5, "orders": 2},
    }

    meta = BackupMeta.read(row("backup", stored))

    assert (meta.size_bytes, meta.db_raw_size_bytes, meta.destinations) == (
        2048,
        4096,
        ["local", "offsite"],
    )
    assert meta.table_rows == {"customers": 5, "orders": 2}
    assert meta.to_json() == stored


def test_row_without_a_field_reads_its_default() -> None:
    meta = BackupMeta.read(row("backup", {"size_bytes": 10}))

    assert (meta.notes, meta.table_rows, meta.failed_destinations) == ([], None, [])


def test_record_stores_only_the_fields_the_job_set() -> None:
    meta = VerifyMeta(destination="local")
    meta.restore_duration_seconds = 1.5

    assert meta.to_json() == {"destination": "local", "restore_duration_seconds": 1.5}


def test_keys_of_a_newer_version_survive_a_read_and_a_write() -> None:
    meta = VerifyMeta.read(row("verify", {"destination": "local", "digest": "abc"}))

    assert meta.to_json() == {"destination": "local", "digest": "abc"}


def test_cleanup_row_before_inventories_reads_no_stored_summary() -> None:
    assert CleanupMeta.read(row("cleanup", {"dry_run": False})).stored is None


def test_cleanup_inventory_reads_typed() -> None:
    stored = {"stored": {"local": {"backups": 3, "size_bytes": 6000}}}

    meta = CleanupMeta.read(row("cleanup", stored))

    assert meta.stored == {"local": StoredSummary(backups=3, size_bytes=6000)}


def test_health_verdict_round_trips() -> None:
    verdict = {
        "status": "warning",
        "targets": [
            {
                "target": "crm",
                "status": "warning",
                "checks": [
                    {
                        "name": "rpo",
                        "status": "warning",
                        "value": 30.0,
                        "threshold": 26,
                        "message": "old",
                    }
                ],
            }
        ],
    }

    assert HealthMeta.read(row("health", verdict)).to_json() == verdict


def test_stale_flag_reads_on_any_job() -> None:
    assert BackupMeta.read(row("backup", {"stale": True})).stale is True
