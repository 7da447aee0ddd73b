"""RunVerifyRestoreJob: checksums first, a real restore, facts compared, the scratch dropped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backproof.archive.authentication import sign_manifest
from backproof.archive.catalog import parse_manifest
from backproof.config.loading import load_settings
from backproof.demo import create_demo
from backproof.errors import IntegrityError, NotFoundError, VerificationError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context, open_context
from backproof.jobs.keyring import signing_key
from backproof.jobs.verify import run_verify
from backproof.storage.memory import MemoryStorage
from sqlite_leftovers import leave_scratch


def scratch_folder(context: Context) -> Path:
    """Return where verify makes its temporary SQLite databases."""
    return context.settings.state.lock_dir.parent / "verify"


def flip_byte(storage: MemoryStorage, key: str) -> None:
    """Flip one bit in the middle of a stored object."""
    data = bytearray(storage.objects[key])
    data[len(data) // 2] ^= 0x01
    storage.objects[key] = bytes(data)


def rewrite_manifest(
    storage: MemoryStorage, key: str, table: str, rows: int, signer: Context | None = None
) -> None:
    """Change one row count in a stored manifest, as a tamperer would; with ``signer``, sign
    it again with that context's key, as the backup host would for a dump that lies."""
    manifest = json.loads(storage.objects[key])
    manifest["facts"]["tables"][table] = rows
    if signer is not None:
        key_pair = signing_key(signer.settings, signer.activities.engine, signer.clock())
        parsed = parse_manifest(json.dumps(manifest).encode(), key)
        manifest = json.loads(sign_manifest(parsed, key_pair.key).model_dump_json())
    storage.objects[key] = json.dumps(manifest).encode()


def test_verify_passes_and_records_the_restore_duration(memory_context: Context) -> None:
    backup = run_backup(memory_context)

    result = run_verify(memory_context)

    assert result.backup_id == backup.backup_id
    assert result.tables == 4
    assert result.sampled_rows > 0
    activity = memory_context.activities.find(job="verify")[0]
    assert activity.status == "success"
    assert activity.backup_id == backup.backup_id
    assert activity.meta["restore_duration_seconds"] == result.restore_duration_seconds


def test_verify_drops_its_temporary_database(memory_context: Context) -> None:
    run_backup(memory_context)

    run_verify(memory_context)

    assert list(scratch_folder(memory_context).iterdir()) == []


def test_verify_drops_a_temporary_database_left_by_a_crash(memory_context: Context) -> None:
    run_backup(memory_context)
    leave_scratch(scratch_folder(memory_context), "verify_crm_20261125t010000z_abcdef")

    result = run_verify(memory_context)

    assert result.dropped_leftovers == ["verify_crm_20261125t010000z_abcdef.sqlite"]


def test_verify_checks_the_newest_backup_by_default(
    memory_context: Context, manual_clock: Any
) -> None:
    run_backup(memory_context)
    manual_clock.now = manual_clock.now.replace(hour=2)
    newest = run_backup(memory_context)

    assert run_verify(memory_context).backup_id == newest.backup_id


def test_flipped_byte_fails_naming_the_part(
    memory_context: Context, memory_storage: MemoryStorage
) -> None:
    backup = run_backup(memory_context)
    flip_byte(memory_storage, f"crm/{backup.backup_id}/files.list.zst")

    with pytest.raises(IntegrityError, match=r"part files \(files\.list\.zst\) on local"):
        run_verify(memory_context)

    activity = memory_context.activities.find(job="verify")[0]
    assert activity.status == "failed"
    assert "files.list.zst" in (activity.message or "")


def test_corrupt_part_fails_before_anything_is_restored(
    memory_context: Context, memory_storage: MemoryStorage
) -> None:
    backup = run_backup(memory_context)
    flip_byte(memory_storage, f"crm/{backup.backup_id}/db.sqlite.zst")

    with pytest.raises(IntegrityError):
        run_verify(memory_context)

    assert not scratch_folder(memory_context).exists()


def test_tampered_row_count_fails_at_the_signature_before_anything_is_imported(
    memory_context: Context, memory_storage: MemoryStorage
) -> None:
    backup = run_backup(memory_context)
    rewrite_manifest(memory_storage, f"crm/{backup.backup_id}/manifest.json", "contacts", 7)

    with pytest.raises(IntegrityError, match="does not match its signature"):
        run_verify(memory_context)

    assert not scratch_folder(memory_context).exists()


def test_signed_row_count_that_lies_fails_naming_the_table(
    memory_context: Context, memory_storage: MemoryStorage
) -> None:
    backup = run_backup(memory_context)
    key = f"crm/{backup.backup_id}/manifest.json"
    rewrite_manifest(memory_storage, key, "contacts", 7, signer=memory_context)

    with pytest.raises(VerificationError, match="table contacts: 160 rows restored, 7 dumped"):
        run_verify(memory_context)

    assert list(scratch_folder(memory_context).iterdir()) == []


def test_missing_part_fails_naming_it(
    memory_context: Context, memory_storage: MemoryStorage
) -> None:
    backup = run_backup(memory_context)
    del memory_storage.objects[f"crm/{backup.backup_id}/db.sqlite.zst"]

    with pytest.raises(NotFoundError, match=r"db\.sqlite\.zst does not exist"):
        run_verify(memory_context)


def test_verify_without_any_backup_says_so(memory_context: Context) -> None:
    with pytest.raises(NotFoundError, match="no committed backup of target 'crm'"):
        run_verify(memory_context)

    assert memory_context.activities.find(job="verify")[0].status == "failed"


def test_unreadable_newest_manifest_fails_verify_instead_of_checking_an_older_backup(
    memory_context: Context, memory_storage: MemoryStorage, manual_clock: Any
) -> None:
    run_backup(memory_context)
    manual_clock.now = manual_clock.now.replace(hour=2)
    newest = run_backup(memory_context)
    memory_storage.objects[f"crm/{newest.backup_id}/manifest.json"] = b'{"id": "garbled'

    with pytest.raises(IntegrityError, match=f"{newest.backup_id}/manifest.json"):
        run_verify(memory_context)


def test_demo_in_a_folder_with_url_characters_backs_up_and_verifies(tmp_path: Path) -> None:
    layout = create_demo(tmp_path / "C# projekty? 100% č", companies=5)
    context = open_context(load_settings(layout.config, environ={}))
    try:
        backup = run_backup(context)
        verified = run_verify(context)
    finally:
        context.activities.engine.dispose()

    assert verified.backup_id == backup.backup_id
    assert verified.tables == 4
