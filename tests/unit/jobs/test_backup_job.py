"""RunBackupJob on the demo CRM: the manifest last; a failure leaves nothing that looks valid."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from backproof.archive.catalog import scan_target
from backproof.demo import DemoLayout
from backproof.errors import SourceError, StorageFullError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context
from backproof.jobs.verify import run_verify
from backproof.storage.local import LocalStorage, LocalUpload
from backproof.storage.memory import MemoryStorage


def test_backup_commits_a_manifest_with_both_parts(
    memory_context: Context, memory_storage: MemoryStorage
) -> None:
    result = run_backup(memory_context)

    manifest = json.loads(memory_storage.get_bytes(f"crm/{result.backup_id}/manifest.json"))
    assert [part["file"] for part in manifest["parts"]] == ["db.sqlite.zst", "files.list.zst"]
    assert {key for key in memory_storage.objects if key.startswith("crm/")} == {
        f"crm/{result.backup_id}/{name}"
        for name in ("manifest.json", "db.sqlite.zst", "files.list.zst")
    }
    stored = {key.split("/")[1] for key in memory_storage.objects if key.startswith(".filestore/")}
    assert stored == {"packs", "index", "refs"}  # no marker of a running backup is left


def test_backup_records_the_facts_of_the_dump(
    memory_context: Context, memory_storage: MemoryStorage, demo: DemoLayout
) -> None:
    run_backup(memory_context)

    manifest = scan_target(memory_storage, "crm").committed[0]
    assert manifest.facts.tables == demo.rows
    assert manifest.facts.files is not None
    assert manifest.facts.files.regular_files == 18


def test_backup_records_a_successful_activity_with_its_id(memory_context: Context) -> None:
    result = run_backup(memory_context)

    activity = memory_context.activities.find(job="backup")[0]
    assert activity.status == "success"
    assert activity.backup_id == result.backup_id
    assert activity.meta["size_bytes"] == result.size_bytes
    assert activity.meta["db_raw_size_bytes"] > 0


def test_gzip_backup_stores_gz_parts(
    memory_context: Context, memory_storage: MemoryStorage
) -> None:
    memory_context.settings.targets[0].compression = "gzip"

    result = run_backup(memory_context)

    assert [part.file for part in result.parts] == ["db.sqlite.gz", "files.list.gz"]
    assert run_verify(memory_context).backup_id == result.backup_id


def test_missing_database_fails_the_backup_and_records_why(
    memory_context: Context, memory_storage: MemoryStorage, demo: DemoLayout
) -> None:
    demo.database.unlink()

    with pytest.raises(SourceError, match="does not exist"):
        run_backup(memory_context)

    activity = memory_context.activities.find(job="backup")[0]
    assert activity.status == "failed"
    assert activity.message is not None
    assert str(demo.database) in activity.message
    assert memory_storage.objects == {}
    assert memory_storage.incomplete == set()


def test_failed_files_part_removes_the_committed_database_part(
    memory_context: Context, memory_storage: MemoryStorage, tmp_path: Path
) -> None:
    memory_context.settings.targets[0].files = [tmp_path / "no-such-folder"]

    with pytest.raises(SourceError, match="no-such-folder does not exist"):
        run_backup(memory_context)

    assert memory_storage.objects == {}


def test_full_destination_fails_the_backup_and_keeps_the_earlier_one(
    memory_context: Context, memory_storage: MemoryStorage
) -> None:
    earlier = run_backup(memory_context)
    kept = dict(memory_storage.objects)
    # The files are stored already (only the database and the file list are new): 1 kB is
    # too little for the database part.
    memory_storage.capacity_bytes = memory_storage.used_bytes() + 1_000

    with pytest.raises(StorageFullError):
        run_backup(memory_context)

    assert memory_storage.objects == kept
    assert memory_storage.incomplete == set()
    assert run_verify(memory_context).backup_id == earlier.backup_id


def test_failing_mirror_leaves_a_partial_backup_on_the_primary(
    memory_context: Context, memory_storage: MemoryStorage
) -> None:
    memory_context.settings.destinations.append(
        memory_context.settings.destinations[0].model_copy(
            update={"name": "offsite", "url": "memory://offsite"}
        )
    )
    memory_context.storages["offsite"] = MemoryStorage("offsite", capacity_bytes=1000)

    result = run_backup(memory_context)

    assert result.destinations == ["local"]
    assert list(result.failed_destinations) == ["offsite"]
    activity = memory_context.activities.find(job="backup")[0]
    assert activity.meta["failed_destinations"] == ["offsite"]
    assert "partial" in (activity.message or "")


def test_backup_is_consistent_while_the_application_writes(
    memory_context: Context, demo: DemoLayout
) -> None:
    stop = threading.Event()
    inserted: list[int] = []

    def write_notes() -> None:
        connection = sqlite3.connect(demo.database, timeout=30)
        try:
            while not stop.is_set():
                with connection:
                    connection.execute(
                        "INSERT INTO notes (contact_id, body, created_at) "
                        "VALUES (1, 'souběžný zápis ✍️', 'now')"
                    )
                inserted.append(1)
        finally:
            connection.close()

    writer = threading.Thread(target=write_notes)
    writer.start()
    try:
        result = run_backup(memory_context)
        verified = run_verify(memory_context)
    finally:
        stop.set()
        writer.join()

    manifest = scan_target(memory_context.storage(), "crm").committed[0]
    notes_in_backup = manifest.facts.tables["notes"]
    assert verified.backup_id == result.backup_id
    assert demo.rows["notes"] <= notes_in_backup <= demo.rows["notes"] + len(inserted)


def test_manifest_that_cannot_be_written_leaves_no_parts_behind(
    memory_context: Context, memory_storage: MemoryStorage
) -> None:
    measured = run_backup(memory_context)
    parts_bytes = sum(part.size_bytes for part in measured.parts)
    memory_storage.objects.clear()
    memory_storage.capacity_bytes = parts_bytes + 100

    with pytest.raises(StorageFullError):
        run_backup(memory_context)

    assert memory_storage.objects == {}
    assert memory_context.activities.find(job="backup")[0].status == "failed"


class _InterruptedAfterCreating(LocalStorage):
    """A local destination where SIGTERM lands after an upload's file exists, before it is held.

    The CLI raises SIGTERM as KeyboardInterrupt at whatever bytecode runs; this pins the worst
    moment: ``LocalUpload`` has created its ``.partial`` file but nobody holds it to abort it.
    """

    def __init__(self, name: str, root: Path, interrupt_on: str) -> None:
        super().__init__(name, root)
        self.interrupt_on = interrupt_on

    def open_upload(self, key: str) -> LocalUpload:
        upload = super().open_upload(key)
        if key.endswith(self.interrupt_on):
            raise KeyboardInterrupt
        return upload


@pytest.mark.parametrize("interrupted_part", ["db.sqlite.zst", "files.list.zst"])
def test_interrupt_while_opening_an_upload_leaves_no_partial_file(
    memory_context: Context, tmp_path: Path, interrupted_part: str
) -> None:
    root = tmp_path / "backups"
    memory_context.storages["local"] = _InterruptedAfterCreating("local", root, interrupted_part)

    with pytest.raises(KeyboardInterrupt):
        run_backup(memory_context)

    assert sorted(root.rglob("*.partial")) == []
    assert sorted(root.rglob("*")) == []
    assert memory_context.activities.find(job="backup")[0].status == "failed"
