"""The local destination: atomic uploads, private files, listing, deleting, sweeping debris."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from backproof.errors import StorageError
from backproof.storage import local
from backproof.storage.local import PARTIAL_SUFFIX, WRITE_PIECE_BYTES, LocalStorage


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage("local", tmp_path / "backups")


def mode_of(path: Path) -> int:
    """Return the permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def test_aborted_upload_leaves_no_file(storage: LocalStorage) -> None:
    upload = storage.open_upload("crm/b1/db.sqlite.zst")
    upload.write(b"data")

    upload.abort()

    assert list(storage.root.rglob(f"*{PARTIAL_SUFFIX}")) == []
    assert list(storage.list_objects("")) == []


def test_a_large_write_reaches_the_kernel_in_pieces_of_at_most_64_kib(
    storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    real_write = os.write

    def recording_write(descriptor: int, data: bytes | memoryview) -> int:
        sizes.append(len(data))
        return real_write(descriptor, data)

    monkeypatch.setattr(local.os, "write", recording_write)
    pack = os.urandom(3 * WRITE_PIECE_BYTES + 17)
    upload = storage.open_upload("crm/files/pack")
    upload.write(pack)
    upload.commit()

    assert sizes == [WRITE_PIECE_BYTES] * 3 + [17]
    assert WRITE_PIECE_BYTES == 64 * 1024
    assert (storage.root / "crm" / "files" / "pack").read_bytes() == pack


def test_written_pages_are_handed_to_the_disk_in_order_as_they_pile_up_and_the_file_is_whole(
    storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    ranges: list[tuple[int, int]] = []
    real_start = local.start_writeback

    def recording_start(descriptor: int, offset: int, size_bytes: int) -> None:
        ranges.append((offset, size_bytes))
        real_start(descriptor, offset, size_bytes)

    monkeypatch.setattr(local, "FLUSH_AFTER_BYTES", 20_000)
    monkeypatch.setattr(local, "start_writeback", recording_start)
    chunks = [os.urandom(7_001) for _ in range(10)]
    upload = storage.open_upload("crm/b1/db.pgdump.zst")
    for chunk in chunks:
        upload.write(chunk)
    upload.commit()

    ends = [offset + size for offset, size in ranges]
    assert len(ranges) == 3
    assert [offset for offset, _size in ranges] == [0, *ends[:-1]]
    assert all(end % local.PAGE_BYTES == 0 for end in ends)
    assert ends[-1] > 70_010 - local.FLUSH_AFTER_BYTES
    assert (storage.root / "crm" / "b1" / "db.pgdump.zst").read_bytes() == b"".join(chunks)
    if sys.platform == "linux":
        assert local._sync_file_range() is not None


def test_aborted_upload_leaves_no_empty_backup_folder(storage: LocalStorage) -> None:
    upload = storage.open_upload("crm/b1/db.sqlite.zst")

    upload.abort()

    assert not (storage.root / "crm" / "b1").exists()


def test_files_are_0600_and_folders_0700_under_a_permissive_umask(storage: LocalStorage) -> None:
    previous = os.umask(0)
    try:
        storage.put_bytes("crm/b1/manifest.json", b"{}")
    finally:
        os.umask(previous)

    assert mode_of(storage.root / "crm" / "b1" / "manifest.json") == 0o600
    for folder in (storage.root, storage.root / "crm", storage.root / "crm" / "b1"):
        assert mode_of(folder) == 0o700


def test_keys_outside_the_destination_are_refused(storage: LocalStorage) -> None:
    with pytest.raises(StorageError, match="outside the destination"):
        storage.put_bytes("../escape", b"x")


def test_list_objects_skips_partial_files(storage: LocalStorage) -> None:
    storage.put_bytes("crm/b1/manifest.json", b"{}")
    storage.open_upload("crm/b1/db.sqlite.zst").write(b"half")

    assert [item.key for item in storage.list_objects("crm/")] == ["crm/b1/manifest.json"]


def test_delete_objects_removes_files_and_the_folders_they_empty(storage: LocalStorage) -> None:
    storage.put_bytes("crm/b1/manifest.json", b"{}")
    storage.put_bytes("crm/b2/manifest.json", b"{}")

    storage.delete_objects(["crm/b1/manifest.json", "crm/b1/already-gone"])

    assert not (storage.root / "crm" / "b1").exists()
    assert (storage.root / "crm" / "b2" / "manifest.json").exists()


def test_sweep_incomplete_removes_only_abandoned_partials(storage: LocalStorage) -> None:
    storage.open_upload("crm/old/db.sqlite.zst").write(b"x")
    storage.open_upload("crm/live/db.sqlite.zst").write(b"y")

    swept = storage.sweep_incomplete("crm/", lambda key: key.startswith("crm/old/"))

    assert len(swept) == 1
    assert swept[0].startswith("crm/old/db.sqlite.zst.")
    assert not (storage.root / "crm" / "old").exists()
    assert len(list((storage.root / "crm" / "live").iterdir())) == 1


def test_put_bytes_replaces_an_object_atomically(storage: LocalStorage) -> None:
    storage.put_bytes("crm/b1/manifest.json", b"one")

    storage.put_bytes("crm/b1/manifest.json", b"two")

    assert storage.get_bytes("crm/b1/manifest.json") == b"two"
    assert [path.name for path in (storage.root / "crm" / "b1").iterdir()] == ["manifest.json"]


def test_list_objects_skips_an_entry_gone_since_the_folder_was_read(
    storage: LocalStorage,
) -> None:
    storage.put_bytes("crm/b1/manifest.json", b"{}")
    (storage.root / "crm" / "b1" / "vanished").symlink_to(storage.root / "nowhere")

    assert [item.key for item in storage.list_objects("crm/")] == ["crm/b1/manifest.json"]
