"""``check``: the parts of every kept backup, checked without a restore."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

import pytest

from backproof.errors import IntegrityError
from backproof.filestore.layout import PACKS
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context
from backproof.jobs.scrub import describe_scrub, run_scrub
from backproof.state.records import ScrubMeta
from backproof.storage.memory import MemoryStorage


class ManualClock(Protocol):
    """The clock of the job fixtures, moved by hand."""

    now: datetime


def two_backups(context: Context, clock: ManualClock) -> list[str]:
    """Make an older and a newer backup; return their ids, oldest first."""
    older = run_backup(context).backup_id
    clock.now += timedelta(days=1)
    return [older, run_backup(context).backup_id]


def test_check_passes_and_counts_the_parts_it_looked_at(
    memory_context: Context, manual_clock: ManualClock
) -> None:
    two_backups(memory_context, manual_clock)

    result = run_scrub(memory_context, read_data=True)

    assert result.backups == 2
    assert result.parts_checked == result.parts_read == 4
    assert result.findings == []


def test_a_deleted_part_of_an_old_backup_is_found_without_reading_data(
    memory_context: Context, manual_clock: ManualClock, memory_storage: MemoryStorage
) -> None:
    older, _newer = two_backups(memory_context, manual_clock)
    key = next(key for key in memory_storage.objects if older in key and "/db." in key)
    del memory_storage.objects[key]

    with pytest.raises(IntegrityError, match=f"backup {older} part db.sqlite.zst is missing"):
        run_scrub(memory_context)

    activity = memory_context.activities.find(job="check")[0]
    assert activity.status == "failed"
    assert len(ScrubMeta.read(activity).findings) == 1


def test_a_corrupt_part_is_found_only_when_its_data_is_read(
    memory_context: Context, manual_clock: ManualClock, memory_storage: MemoryStorage
) -> None:
    older, _newer = two_backups(memory_context, manual_clock)
    key = next(key for key in memory_storage.objects if older in key and "/db." in key)
    data = bytearray(memory_storage.objects[key])
    data[len(data) // 2] ^= 0x01
    memory_storage.objects[key] = bytes(data)

    assert run_scrub(memory_context).findings == []
    with pytest.raises(IntegrityError, match="does not match its checksum"):
        run_scrub(memory_context, read_data=True)


def pack_keys(storage: MemoryStorage) -> list[str]:
    """Return the keys of the files store's packs on a destination."""
    return sorted(key for key in storage.objects if key.startswith(PACKS))


def test_a_missing_pack_is_found_naming_the_files_that_depend_on_it(
    memory_context: Context, manual_clock: ManualClock, memory_storage: MemoryStorage
) -> None:
    two_backups(memory_context, manual_clock)
    for key in pack_keys(memory_storage):
        del memory_storage.objects[key]

    with pytest.raises(IntegrityError, match=r"is missing \(needed by uploads/"):
        run_scrub(memory_context)

    findings = ScrubMeta.read(memory_context.activities.find(job="check")[0]).findings
    assert len(findings) == 2
    assert all("18 files cannot be read" in finding for finding in findings)


def test_a_corrupt_pack_is_found_when_the_files_are_read(
    memory_context: Context, manual_clock: ManualClock, memory_storage: MemoryStorage
) -> None:
    two_backups(memory_context, manual_clock)
    key = pack_keys(memory_storage)[0]
    data = bytearray(memory_storage.objects[key])
    data[len(data) // 2] ^= 0xFF
    memory_storage.objects[key] = bytes(data)

    assert run_scrub(memory_context).files_checked == 36
    with pytest.raises(IntegrityError, match=r"files cannot be read: pack .*\(needed by uploads/"):
        run_scrub(memory_context, read_data=True)


def test_the_stored_files_are_counted_and_read_with_the_data(
    memory_context: Context, manual_clock: ManualClock
) -> None:
    two_backups(memory_context, manual_clock)

    result = run_scrub(memory_context, read_data=True)

    assert (result.files_checked, result.files_read) == (36, 36)
    assert "36 stored files looked up in their packs (36 read)" in describe_scrub(result)
