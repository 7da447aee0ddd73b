"""The catalog: a backup exists only with its manifest; the rest is debris."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from backproof.archive.catalog import load_manifest, manifest_key, scan_target
from backproof.archive.manifest import Facts, Manifest, new_backup_id, parse_backup_time
from backproof.errors import IntegrityError
from backproof.storage.base import StoredObject
from backproof.storage.memory import MemoryStorage

CREATED = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def manifest(backup_id: str, target: str = "crm") -> Manifest:
    """Return a minimal manifest."""
    return Manifest(
        id=backup_id,
        target=target,
        created_at=CREATED,
        finished_at=CREATED,
        tool_version="0",
        host="h",
        parts=[],
        facts=Facts(),
    )


def commit(storage: MemoryStorage, item: Manifest) -> None:
    """Store a manifest as the backup job does."""
    storage.put_bytes(manifest_key(item.target, item.id), item.model_dump_json().encode())


def test_scan_lists_committed_backups_newest_first() -> None:
    storage = MemoryStorage()
    for backup_id in ("20261124T010000Z-a", "20261126T010000Z-c", "20261125T010000Z-b"):
        commit(storage, manifest(backup_id))

    listing = scan_target(storage, "crm")

    assert [item.id for item in listing.committed] == [
        "20261126T010000Z-c",
        "20261125T010000Z-b",
        "20261124T010000Z-a",
    ]


def test_scan_counts_parts_without_a_manifest_as_debris() -> None:
    storage = MemoryStorage()
    storage.put_bytes("crm/20261126T010000Z-a/db.sqlite.zst", b"x")

    listing = scan_target(storage, "crm")

    assert listing.committed == []
    assert listing.debris == ["20261126T010000Z-a"]


def test_scan_sets_aside_a_manifest_that_does_not_parse() -> None:
    storage = MemoryStorage()
    storage.put_bytes("crm/20261126T010000Z-a/manifest.json", b'{"id": 1}')

    listing = scan_target(storage, "crm")

    assert listing.committed == []
    assert "manifest is invalid" in listing.unreadable["20261126T010000Z-a"]


def test_load_manifest_refuses_one_that_names_another_backup() -> None:
    storage = MemoryStorage()
    storage.put_bytes(
        manifest_key("crm", "20261126T010000Z-a"),
        manifest("20261125T010000Z-z").model_dump_json().encode(),
    )

    with pytest.raises(IntegrityError, match="names backup crm/20261125T010000Z-z"):
        load_manifest(storage, "crm", "20261126T010000Z-a")


def test_backup_ids_carry_their_utc_time() -> None:
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)

    assert parse_backup_time(new_backup_id(moment)) == moment


def test_foreign_folder_names_have_no_backup_time() -> None:
    assert parse_backup_time("lost+found") is None


class DeletedWhileListed(MemoryStorage):
    """A destination where a cleanup deletes one backup right after the listing was taken."""

    def __init__(self, doomed_key: str) -> None:
        super().__init__()
        self.doomed_key = doomed_key

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        listed = list(super().list_objects(prefix))
        self.objects.pop(self.doomed_key, None)
        yield from listed


def test_scan_skips_a_backup_deleted_while_it_was_listed() -> None:
    doomed = manifest("20261125T010000Z-a")
    storage = DeletedWhileListed(manifest_key("crm", doomed.id))
    commit(storage, doomed)
    commit(storage, manifest("20261126T010000Z-b"))

    listing = scan_target(storage, "crm")

    assert [item.id for item in listing.committed] == ["20261126T010000Z-b"]


def test_backup_ids_sort_by_time_when_made_within_one_second() -> None:
    moment = datetime(2026, 11, 26, 1, 0, 0, 999_000, tzinfo=UTC)
    earlier = [new_backup_id(moment.replace(microsecond=micro)) for micro in (1_000, 500_000)]
    later = new_backup_id(moment)

    assert sorted([later, *earlier]) == [*earlier, later]
