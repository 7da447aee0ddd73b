"""The files store through the jobs: stored once, collected safely, every backup restorable."""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyrage
import pytest

from backproof.archive.catalog import manifest_key, scan_target
from backproof.archive.manifest import new_backup_id
from backproof.demo import DemoLayout
from backproof.errors import IntegrityError, PipelineError, RestoreError, StorageError
from backproof.filestore import packs
from backproof.filestore.layout import CONDEMNED, INDEX, PACKS, REFS, PackName
from backproof.filestore.pipeline import BlobMaker
from backproof.filestore.sides import Side
from backproof.jobs.backup import run_backup
from backproof.jobs.cleanup import run_cleanup
from backproof.jobs.context import Context
from backproof.jobs.files_store import cache_dir, open_files_session
from backproof.jobs.restore import run_restore
from backproof.jobs.verify import run_verify
from backproof.storage.memory import MemoryStorage
from worker_processes import workers_running


def pack_keys(storage: MemoryStorage) -> set[str]:
    """Return the keys of the packs a destination holds."""
    return {key for key in storage.objects if key.startswith(PACKS)}


def tree_of(folder: Path) -> dict[str, bytes]:
    """Return every regular file below ``folder`` with its content."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def age_files(folder: Path) -> None:
    """Date every file an hour back: a file modified within the last second is always read."""
    for path in folder.rglob("*"):
        os.utime(path, (path.stat().st_atime - 3600, path.stat().st_mtime - 3600))


def restored(context: Context, backup_id: str, folder: Path) -> dict[str, bytes]:
    """Restore a backup's files into ``folder`` and return the tree."""
    run_restore(context, backup_id, None, folder)
    return tree_of(folder / "uploads")


def encrypt_to_new_identity(context: Context, folder: Path) -> None:
    """Turn age encryption on (keyed addresses), to a new identity kept in ``folder``."""
    identity = pyrage.x25519.Identity.generate()
    (folder / "age.key").write_text(f"{identity}\n", encoding="ascii")
    context.settings.encryption.recipients = [str(identity.to_public())]
    context.settings.encryption.identity_file = folder / "age.key"


def test_unchanged_files_are_neither_stored_nor_read_again(
    memory_context: Context, memory_storage: MemoryStorage, demo: DemoLayout
) -> None:
    age_files(demo.uploads)
    run_backup(memory_context)
    packs = pack_keys(memory_storage)

    run_backup(memory_context)

    assert pack_keys(memory_storage) == packs
    meta = memory_context.activities.find(job="backup")[0].meta
    assert meta["files_read"] == 0
    assert meta["files_unchanged"] == 18


def test_a_changed_file_stores_only_its_new_content(
    memory_context: Context, memory_storage: MemoryStorage, demo: DemoLayout
) -> None:
    age_files(demo.uploads)
    run_backup(memory_context)
    packs = pack_keys(memory_storage)
    changed = next(path for path in sorted(demo.uploads.rglob("*")) if path.is_file())
    changed.write_bytes(b"a new version of the upload")

    run_backup(memory_context)

    new = pack_keys(memory_storage) - packs
    assert len(new) == 1
    meta = memory_context.activities.find(job="backup")[0].meta
    assert meta["files_read"] == 1


def test_two_targets_with_the_same_files_store_them_once(
    memory_context: Context, memory_storage: MemoryStorage, demo: DemoLayout
) -> None:
    first = memory_context.settings.targets[0]
    memory_context.settings.targets.append(
        first.model_copy(update={"name": "crm-copy", "database": None})
    )
    run_backup(memory_context, "crm")
    packs = pack_keys(memory_storage)

    copy = run_backup(memory_context, "crm-copy")

    assert pack_keys(memory_storage) == packs
    assert copy.parts[0].name == "files"
    assert run_verify(memory_context, "crm-copy").files == 18


def test_an_edited_large_file_sends_only_the_chunks_that_changed(
    memory_context: Context, memory_storage: MemoryStorage, demo: DemoLayout
) -> None:
    large = demo.uploads / "video.bin"
    large.write_bytes(os.urandom(12 * 1024 * 1024))
    run_backup(memory_context)
    before = sum(len(memory_storage.objects[key]) for key in pack_keys(memory_storage))
    data = bytearray(large.read_bytes())
    data[6_000_000:6_000_100] = os.urandom(100)
    large.write_bytes(bytes(data) + os.urandom(50_000))

    run_backup(memory_context)

    after = sum(len(memory_storage.objects[key]) for key in pack_keys(memory_storage))
    assert after - before < 6 * 1024 * 1024  # of 12 MiB: the chunk edited and the last one
    assert run_verify(memory_context).files == 19


def test_old_tar_backups_and_new_ones_both_verify_and_restore(
    memory_context: Context, demo: DemoLayout, tmp_path: Path, manual_clock: Any
) -> None:
    memory_context.settings.targets[0].files_format = "tar"
    old = run_backup(memory_context)
    memory_context.settings.targets[0].files_format = "store"
    manual_clock.now += timedelta(minutes=1)
    new = run_backup(memory_context)

    assert [part.file for part in old.parts][1] == "files.tar.zst"
    assert run_verify(memory_context, backup_id=old.backup_id).files == 18
    assert run_verify(memory_context, backup_id=new.backup_id).files == 18
    original = tree_of(demo.uploads)
    assert restored(memory_context, old.backup_id, tmp_path / "old") == original
    assert restored(memory_context, new.backup_id, tmp_path / "new") == original


def test_a_corrupt_pack_is_found_naming_the_files_that_depend_on_it(
    memory_context: Context, memory_storage: MemoryStorage, demo: DemoLayout, tmp_path: Path
) -> None:
    backup = run_backup(memory_context)
    key = sorted(pack_keys(memory_storage))[0]
    data = bytearray(memory_storage.objects[key])
    data[len(data) // 2] ^= 0xFF
    memory_storage.objects[key] = bytes(data)

    with pytest.raises(
        IntegrityError, match=r"18 files cannot be read: pack .*\(needed by uploads/"
    ):
        run_verify(memory_context)
    # Restore hashes no pack whole: the damaged blob is found by its address, naming the pack.
    with pytest.raises(RestoreError, match=r"files cannot be read: .*pack .*\(needed by uploads/"):
        run_restore(memory_context, backup.backup_id, None, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_pack_is_named_with_its_files(
    memory_context: Context, memory_storage: MemoryStorage
) -> None:
    run_backup(memory_context)
    for key in pack_keys(memory_storage):
        del memory_storage.objects[key]

    with pytest.raises(IntegrityError, match=r"is missing \(needed by uploads/"):
        run_verify(memory_context)


def test_cleanup_collects_packs_of_deleted_backups_and_keeps_the_rest_restorable(
    memory_context: Context,
    memory_storage: MemoryStorage,
    demo: DemoLayout,
    manual_clock: Any,
    tmp_path: Path,
) -> None:
    memory_context.settings.retention.keep_all_days = 0
    memory_context.settings.retention.keep_daily_days = 3
    memory_context.settings.retention.keep_weekly_weeks = 0
    memory_context.settings.retention.keep_monthly_months = 0
    memory_context.settings.retention.keep_yearly_years = 0
    trees, backups = {}, []
    for day in range(5):
        (demo.uploads / "daily.txt").write_bytes(f"day {day}".encode() * 1000)
        manual_clock.now += timedelta(days=1)
        backups.append(run_backup(memory_context).backup_id)
        trees[backups[-1]] = tree_of(demo.uploads)
    packs = pack_keys(memory_storage)

    dry = run_cleanup(memory_context, dry_run=True)
    assert pack_keys(memory_storage) == packs
    collection = dry.destinations[0].collection
    assert collection is not None and collection.freed_bytes > 0

    result = run_cleanup(memory_context)

    assert len(result.destinations[0].deleted) == 2
    assert result.destinations[0].collection is not None
    assert result.destinations[0].collection.freed_bytes == collection.freed_bytes
    # The first pack holds the uploads every backup names; the second only day 1's file.
    assert pack_keys(memory_storage) == packs - {
        key for key in packs if key.startswith(f"{PACKS}{backups[1]}/")
    }
    for backup_id in backups[2:]:
        assert restored(memory_context, backup_id, tmp_path / backup_id) == trees[backup_id]


def test_cleanup_never_collects_what_a_running_backup_references(
    memory_context: Context,
    memory_storage: MemoryStorage,
    demo: DemoLayout,
    manual_clock: Any,
) -> None:
    retention = memory_context.settings.retention
    retention.keep_all_days = retention.keep_weekly_weeks = retention.keep_monthly_months = 0
    retention.keep_daily_days, retention.keep_yearly_years = 1, 0
    old = run_backup(memory_context).backup_id  # its pack holds every upload
    old_packs = pack_keys(memory_storage)
    manual_clock.now += timedelta(days=2)
    # Another host's backup starts: it reads the index and takes the uploads from the old pack.
    target = memory_context.settings.targets[0].model_copy(update={"database": None})
    running_id = new_backup_id(manual_clock.now)
    session = open_files_session(
        memory_context.settings, target, running_id, {"local": memory_storage}
    )
    session.write_list(target.files, Sink())
    manual_clock.now += timedelta(minutes=1)
    fresh = demo.uploads.parent / "fresh"
    fresh.mkdir()
    (fresh / "new.txt").write_text("nothing the old backup had")
    memory_context.settings.targets[0].files = [fresh]
    run_backup(memory_context)  # the only backup kept names none of the uploads

    result = run_cleanup(memory_context)

    collection = result.destinations[0].collection
    assert collection is not None
    assert old in result.destinations[0].deleted
    assert collection.running == [running_id]
    assert collection.deferred == [key.removeprefix(PACKS) for key in old_packs]
    assert pack_keys(memory_storage) >= old_packs
    # The running backup commits: its refs name the old pack, which gets its index back.
    session.finish(["local"])
    manifest = scan_target(memory_storage, "crm").committed[0]
    memory_storage.put_bytes(
        manifest_key("crm", running_id),
        manifest.model_copy(update={"id": running_id}).model_dump_json().encode(),
    )
    session.close(completed=True)

    again = run_cleanup(memory_context).destinations[0].collection

    assert again is not None
    assert again.restored == collection.deferred
    assert pack_keys(memory_storage) >= old_packs


class Sink:
    """Takes a file list and forgets it."""

    def write(self, data: bytes, /) -> int:
        return len(data)


def test_a_killed_backup_leaves_every_committed_backup_whole(
    memory_context: Context,
    memory_storage: MemoryStorage,
    demo: DemoLayout,
    manual_clock: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = run_backup(memory_context).backup_id
    (demo.uploads / "late.bin").write_bytes(os.urandom(300_000))
    real_open = os.open

    def killed(path: object, *args: object, **kwargs: object) -> int:
        if str(path).endswith("late.bin"):
            raise KeyboardInterrupt
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", killed)
    manual_clock.now += timedelta(hours=1)
    with pytest.raises(KeyboardInterrupt):
        run_backup(memory_context)
    monkeypatch.undo()
    manual_clock.now += timedelta(days=2)
    second = run_backup(memory_context).backup_id
    run_cleanup(memory_context)

    assert run_verify(memory_context, backup_id=first).files == 18
    assert run_verify(memory_context, backup_id=second).files == 19
    assert restored(memory_context, second, tmp_path / "out") == tree_of(demo.uploads)


def test_a_file_changing_while_it_is_read_is_recorded_as_a_warning(
    memory_context: Context, demo: DemoLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fstat = os.fstat
    calls = {"count": 0}

    def moving(fd: int) -> os.stat_result:
        info = real_fstat(fd)
        calls["count"] += 1
        names = [name for name in dir(info) if name.startswith("st_")]
        extra = {name: getattr(info, name) for name in names}
        extra["st_mtime_ns"] += calls["count"]  # the file moves between the reads of each file
        return os.stat_result(tuple(info)[:10], extra)

    monkeypatch.setattr(os, "fstat", moving)
    run_backup(memory_context)

    notes = memory_context.activities.find(job="backup")[0].meta["notes"]
    assert any("changed while it was read (3 tries)" in note for note in notes)


def test_addresses_reveal_no_content_when_encryption_is_on(
    memory_context: Context, memory_storage: MemoryStorage, demo: DemoLayout, tmp_path: Path
) -> None:
    encrypt_to_new_identity(memory_context, tmp_path)
    backup = run_backup(memory_context)

    digests = {hashlib.sha256(data).hexdigest() for data in tree_of(demo.uploads).values()}
    names = " ".join(memory_storage.objects)
    assert not any(digest in names for digest in digests)
    first = next(iter(tree_of(demo.uploads).values()))
    assert not any(first[:64] in data for data in memory_storage.objects.values())
    assert run_verify(memory_context).files == 18
    assert restored(memory_context, backup.backup_id, tmp_path / "out") == tree_of(demo.uploads)


def test_a_restore_with_age_decrypts_its_packs_outside_its_own_process(
    memory_context: Context, demo: DemoLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encrypt_to_new_identity(memory_context, tmp_path)
    backup = run_backup(memory_context)

    def decrypt_here(*arguments: object) -> None:
        raise AssertionError("a pack was decrypted in the restore's own process")

    # pyrage holds the GIL while it decrypts: in this process, no other thread would run.
    in_process = SimpleNamespace(decrypt_io=decrypt_here, DecryptError=pyrage.DecryptError)
    monkeypatch.setattr(packs, "pyrage", in_process)

    assert restored(memory_context, backup.backup_id, tmp_path / "out") == tree_of(demo.uploads)


def test_a_backup_with_age_seals_its_packs_outside_its_own_process(
    memory_context: Context, demo: DemoLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encrypt_to_new_identity(memory_context, tmp_path)

    def seal_here(*arguments: object) -> None:
        raise AssertionError("a pack was sealed in the backup's own process")

    # pyrage holds the GIL while it encrypts: in this process, no other thread would run.
    monkeypatch.setattr(packs, "pyrage", SimpleNamespace(encrypt_io=seal_here))
    backup = run_backup(memory_context)
    monkeypatch.undo()

    assert run_verify(memory_context).files == 18
    assert restored(memory_context, backup.backup_id, tmp_path / "out") == tree_of(demo.uploads)


def after_the_first_pack(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> None:
    """Make every blob a pack of its own, and run ``action`` once the first is recorded."""
    monkeypatch.setattr(packs, "PACK_TARGET_BYTES", 1)
    record = Side.on_pack

    def recorded(self: Side, pack: PackName, blobs: list[packs.BlobEntry]) -> None:
        record(self, pack, blobs)
        action()

    monkeypatch.setattr(Side, "on_pack", recorded)


def test_a_killed_sealing_worker_fails_the_backup_and_commits_nothing_naming_a_missing_pack(
    memory_context: Context,
    memory_storage: MemoryStorage,
    demo: DemoLayout,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    encrypt_to_new_identity(memory_context, tmp_path)
    killed: list[int] = []

    def kill_the_worker() -> None:
        for pid in workers_running() - set(killed):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    after_the_first_pack(monkeypatch, kill_the_worker)
    with pytest.raises(PipelineError, match="the process sealing packs stopped"):
        run_backup(memory_context)
    monkeypatch.undo()

    assert killed
    assert scan_target(memory_storage, "crm").committed == []
    assert not any(key.startswith(REFS) for key in memory_storage.objects)
    indexed = {key.rsplit("/", 1)[1] for key in memory_storage.objects if key.startswith(INDEX)}
    stored = {key.rsplit("/", 1)[1] for key in pack_keys(memory_storage)}
    assert indexed <= stored  # every index names a pack that is there
    assert workers_running() == set()
    backup = run_backup(memory_context)  # the next backup starts a worker of its own
    assert restored(memory_context, backup.backup_id, tmp_path / "out") == tree_of(demo.uploads)


def test_a_backup_with_age_interrupted_leaves_no_sealing_worker_running(
    memory_context: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encrypt_to_new_identity(memory_context, tmp_path)
    running: list[set[int]] = []

    def interrupt() -> None:
        running.append(workers_running())
        raise KeyboardInterrupt  # as a Ctrl-C lands in the backup's main thread

    after_the_first_pack(monkeypatch, interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_backup(memory_context)

    assert running and running[0]  # a worker was sealing packs when the backup was stopped
    assert workers_running() == set()
    assert not any(Path(f"/proc/{pid}").exists() for pid in running[0])  # and reaped


def test_excluded_files_are_left_out_of_the_store(
    memory_context: Context, demo: DemoLayout, tmp_path: Path
) -> None:
    (demo.uploads / "cache").mkdir()
    (demo.uploads / "cache" / "thumb.bin").write_bytes(b"x" * 100)
    (demo.uploads / "debug.log").write_text("noise", encoding="utf-8")
    memory_context.settings.targets[0].exclude = ["cache", "*.log"]

    backup = run_backup(memory_context)

    files = restored(memory_context, backup.backup_id, tmp_path / "out")
    assert "debug.log" not in files
    assert not any(name.startswith("cache/") for name in files)
    assert len(files) == 18


class FailingDeletes(MemoryStorage):
    """A destination whose deletes of packs fail, as a cleanup killed midway would stop."""

    def __init__(self) -> None:
        super().__init__("local")
        self.fail = True

    def delete_objects(self, keys: list[str]) -> None:
        if self.fail and any(key.startswith(PACKS) for key in keys):
            raise StorageError("the cleanup was interrupted here")
        super().delete_objects(keys)


def test_an_interrupted_collection_is_finished_by_the_next_cleanup(
    memory_context: Context, demo: DemoLayout, manual_clock: Any, tmp_path: Path
) -> None:
    storage = FailingDeletes()
    memory_context.storages["local"] = storage
    retention = memory_context.settings.retention
    retention.keep_all_days = retention.keep_weekly_weeks = retention.keep_monthly_months = 0
    retention.keep_daily_days, retention.keep_yearly_years = 1, 0
    drafts = demo.uploads.parent / "drafts"
    drafts.mkdir()
    (drafts / "draft.txt").write_text("only the old backup holds this", encoding="utf-8")
    memory_context.settings.targets[0].files = [demo.uploads, drafts]
    run_backup(memory_context)
    old_packs = pack_keys(storage)
    manual_clock.now += timedelta(days=2)
    memory_context.settings.targets[0].files = [drafts.parent / "nothing-old"]
    (drafts.parent / "nothing-old").mkdir()
    (drafts.parent / "nothing-old" / "new.txt").write_text("new", encoding="utf-8")
    kept = run_backup(memory_context).backup_id

    with pytest.raises(StorageError):
        run_cleanup(memory_context)
    condemned_midway = {key for key in storage.objects if key.startswith(CONDEMNED)}
    storage.fail = False
    run_cleanup(memory_context)

    assert condemned_midway  # the index was moved aside before the pack's delete failed
    assert not pack_keys(storage) & old_packs
    left = {key for key in storage.objects if key.startswith((CONDEMNED, INDEX))}
    assert all(f"/{kept}/" in key for key in left)  # only the kept backup's index remains
    assert run_verify(memory_context).backup_id == kept
    assert restored_tree(memory_context, kept, tmp_path / "out") == {"new.txt": b"new"}


def restored_tree(context: Context, backup_id: str, folder: Path) -> dict[str, bytes]:
    """Restore a backup's files into ``folder`` and return everything below it."""
    run_restore(context, backup_id, None, folder)
    return {path.name: path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_the_storage_cap_counts_the_packs_the_backups_share(
    memory_context: Context, memory_storage: MemoryStorage, manual_clock: Any
) -> None:
    old = run_backup(memory_context).backup_id
    manual_clock.now += timedelta(hours=1)
    new = run_backup(memory_context).backup_id
    sizes = scan_target(memory_storage, "crm").sizes
    pack_bytes = sum(len(memory_storage.objects[key]) for key in pack_keys(memory_storage))
    # Room for the newest backup and the packs once: not for a second copy of its parts.
    memory_context.settings.retention.max_storage_mb = (sizes[new] + pack_bytes) / 1_000_000

    result = run_cleanup(memory_context)

    outcome = result.destinations[0]
    assert outcome.deleted == {old: f"over storage cap {(sizes[new] + pack_bytes) / 1e6:g} MB"}
    assert outcome.stored_size_bytes == sizes[new] + pack_bytes
    assert run_verify(memory_context, backup_id=new).files == 18


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "keyed-addresses"])
def test_an_appended_large_file_is_restored_whole_from_its_kept_chunks(
    memory_context: Context,
    demo: DemoLayout,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    encrypted: bool,
) -> None:
    if encrypted:  # keyed addresses and a seeded chunker
        encrypt_to_new_identity(memory_context, tmp_path)
    large = demo.uploads / "video.bin"
    large.write_bytes(os.urandom(12 * 1024 * 1024))
    age_files(demo.uploads)
    run_backup(memory_context)
    with large.open("ab") as stream:
        stream.write(os.urandom(300_000))
    made: list[BlobMaker] = []  # one per chunk cut and addressed
    real_make = BlobMaker.make
    monkeypatch.setattr(
        BlobMaker, "make", lambda self, data: made.append(self) or real_make(self, data)
    )

    second = run_backup(memory_context).backup_id

    assert 0 < len(made) <= 3  # cut from its last chunk on: its start's chunks were kept
    assert run_verify(memory_context, backup_id=second).files == 19
    assert restored(memory_context, second, tmp_path / "out") == tree_of(demo.uploads)


@pytest.mark.parametrize("older_key", [True, False], ids=["scheme-1-key-file", "new-key"])
def test_a_store_keeps_its_key_scheme_deduplicating_verifying_and_restoring(
    memory_context: Context,
    memory_storage: MemoryStorage,
    demo: DemoLayout,
    tmp_path: Path,
    older_key: bool,
) -> None:
    encrypt_to_new_identity(memory_context, tmp_path)
    encryption = memory_context.settings.encryption
    encryption.address_key_file = tmp_path / "address.key"
    if older_key:  # as backproof wrote it before scheme 2: 64 hex digits alone
        encryption.address_key_file.write_text(os.urandom(32).hex() + "\n", encoding="ascii")
    age_files(demo.uploads)
    run_backup(memory_context)
    packs = pack_keys(memory_storage)
    [stored_key] = [key for key in memory_storage.objects if key.startswith(".filestore/keys/")]
    for cache in cache_dir(memory_context.settings).glob("files-*.sqlite*"):
        cache.unlink()  # every file is read and addressed again

    second = run_backup(memory_context).backup_id

    assert stored_key.startswith(".filestore/keys/d2-") is not older_key
    meta = memory_context.activities.find(job="backup")[0].meta
    assert meta["files_read"] == 18
    assert pack_keys(memory_storage) == packs  # found under the same addresses
    assert run_verify(memory_context, backup_id=second).files == 18
    assert restored(memory_context, second, tmp_path / "out") == tree_of(demo.uploads)
