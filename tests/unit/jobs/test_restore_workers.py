"""A restore with age on a local destination: files written by worker processes, the same
files, modes and times, the same confinement and errors, the workers always stopped."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pyrage
import pytest

from backproof.archive.safe_extract import ConfinedTree, UnsafeMemberError
from backproof.demo import DemoLayout
from backproof.errors import RestoreError
from backproof.filestore.entries import FileEntry
from backproof.filestore.file_writers import FileWriters
from backproof.filestore.layout import PACKS
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context
from backproof.jobs.restore import run_restore
from backproof.storage.local import LocalStorage
from restored_files import files_of, vary_modes_and_times


def encrypt_to_new_identity(context: Context, folder: Path) -> None:
    """Turn age encryption on (keyed addresses), to a new identity kept in ``folder``."""
    identity = pyrage.x25519.Identity.generate()
    (folder / "age.key").write_text(f"{identity}\n", encoding="ascii")
    context.settings.encryption.recipients = [str(identity.to_public())]
    context.settings.encryption.identity_file = folder / "age.key"


def pack_files(context: Context) -> list[Path]:
    """Return the pack files of the local destination."""
    storage = context.storage("local")
    assert isinstance(storage, LocalStorage)
    return sorted(path for path in (storage.root / PACKS).rglob("*") if path.is_file())


@pytest.fixture
def backup_id(context: Context, demo: DemoLayout, tmp_path: Path) -> str:
    """An age-encrypted backup of the demo on its local destination (modes varied)."""
    assert isinstance(context.storage("local"), LocalStorage)
    encrypt_to_new_identity(context, tmp_path)
    vary_modes_and_times(demo.uploads)
    return run_backup(context).backup_id


def first_file(demo: DemoLayout) -> Path:
    """Return the path, below the uploads, of the demo's first file by name."""
    return sorted(p for p in demo.uploads.rglob("*") if p.is_file())[0].relative_to(demo.uploads)


def test_the_files_are_written_by_worker_processes_with_their_bytes_modes_and_times(
    context: Context,
    demo: DemoLayout,
    backup_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def write_here(*arguments: object, **options: object) -> str:
        raise AssertionError("a file was written by the restore's own process")

    # Workers are other processes: this process's ConfinedTree writes no file.
    monkeypatch.setattr(ConfinedTree, "write_file", write_here)
    run_restore(context, backup_id, None, tmp_path / "out")

    assert files_of(tmp_path / "out" / "uploads") == files_of(demo.uploads)


def test_a_folder_in_the_way_of_a_file_is_refused_inside_a_worker(
    context: Context, demo: DemoLayout, backup_id: str, tmp_path: Path
) -> None:
    name = first_file(demo)
    (tmp_path / "out" / "uploads" / name).mkdir(parents=True)

    with pytest.raises(UnsafeMemberError, match="a folder of that name is in the way"):
        run_restore(context, backup_id, None, tmp_path / "out", force=True)


def test_a_planted_link_at_a_file_is_replaced_never_written_through(
    context: Context, demo: DemoLayout, backup_id: str, tmp_path: Path
) -> None:
    name = first_file(demo)
    outside = tmp_path / "outside"
    outside.write_bytes(b"not to be touched")
    planted = tmp_path / "out" / "uploads" / name
    planted.parent.mkdir(parents=True)
    planted.symlink_to(outside)

    run_restore(context, backup_id, None, tmp_path / "out", force=True)

    assert outside.read_bytes() == b"not to be touched"
    assert not planted.is_symlink()
    assert planted.read_bytes() == (demo.uploads / name).read_bytes()


def test_a_corrupt_pack_is_named_with_the_files_that_need_it(
    context: Context, backup_id: str, tmp_path: Path
) -> None:
    pack = pack_files(context)[0]
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pack.write_bytes(bytes(data))

    with pytest.raises(
        RestoreError, match=r"files cannot be read: pack .* does not decrypt.*\(needed by uploads/"
    ):
        run_restore(context, backup_id, None, tmp_path / "out")


def test_a_missing_pack_is_named_with_the_files_that_need_it(
    context: Context, backup_id: str, tmp_path: Path
) -> None:
    for pack in pack_files(context):
        pack.unlink()

    with pytest.raises(RestoreError, match=r"pack .* on local is missing \(needed by uploads/"):
        run_restore(context, backup_id, None, tmp_path / "out")


def started_writers(monkeypatch: pytest.MonkeyPatch, act: Any) -> list[FileWriters]:
    """Have ``act(writers)`` run before the restore's first batch is handed over; return the
    writers the restore started."""
    original = FileWriters.submit
    seen: list[FileWriters] = []

    def submit(self: FileWriters, batch: list[FileEntry]) -> Any:
        if not seen:
            seen.append(self)
            act(self)
        return original(self, batch)

    monkeypatch.setattr(FileWriters, "submit", submit)
    return seen


def test_a_killed_worker_fails_the_restore_and_the_next_restore_works(
    context: Context,
    demo: DemoLayout,
    backup_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def kill(writers: FileWriters) -> None:
        for worker in writers.workers:
            os.kill(worker.process.pid, signal.SIGKILL)
            worker.process.wait()

    seen = started_writers(monkeypatch, kill)
    with pytest.raises(RestoreError, match="the process writing restored files stopped"):
        run_restore(context, backup_id, None, tmp_path / "first")
    monkeypatch.undo()

    run_restore(context, backup_id, None, tmp_path / "second")
    assert seen
    assert files_of(tmp_path / "second" / "uploads") == files_of(demo.uploads)


def test_ctrl_c_stops_every_worker(
    context: Context, backup_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    processes: list[Any] = []

    def interrupt(writers: FileWriters) -> None:
        processes.extend(worker.process for worker in writers.workers)
        raise KeyboardInterrupt

    started_writers(monkeypatch, interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_restore(context, backup_id, None, tmp_path / "out")

    assert processes
    assert all(process.returncode is not None for process in processes)


def test_a_file_found_in_no_pack_is_named_as_damage(
    context: Context,
    demo: DemoLayout,
    backup_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = FileWriters.submit
    lost = sorted(p for p in demo.uploads.rglob("*") if p.is_file())[1].relative_to(demo.uploads)

    def submit(self: FileWriters, batch: list[FileEntry]) -> Any:
        index_locate = self.reader.locate_files

        def locate(entries: Any) -> Any:
            located = index_locate(entries)
            for entry in entries:
                if entry.path == f"uploads/{lost}":
                    for address in entry.chunks:
                        located[address] = []
            return located

        monkeypatch.setattr(self.reader, "locate_files", locate)
        written: Any = original(self, batch)
        return written

    monkeypatch.setattr(FileWriters, "submit", submit)
    with pytest.raises(
        RestoreError, match=rf"1 files cannot be read: .*in no pack \(needed by uploads/{lost}\)"
    ):
        run_restore(context, backup_id, None, tmp_path / "out")
