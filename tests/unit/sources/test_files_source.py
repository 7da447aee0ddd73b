"""The files part: a tar of the configured paths, links kept as links, a digest of the tree."""

from __future__ import annotations

import io
import socket
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from backproof.archive.manifest import FilesFacts
from backproof.errors import RestoreError, SourceError
from backproof.sources.files import archive_files, extract_files, inspect_archive


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    """A small uploads folder: nested files with diacritics, an empty folder, a binary."""
    root = tmp_path / "app" / "uploads"
    (root / "smlouvy" / "2026").mkdir(parents=True)
    (root / "prázdná").mkdir()
    (root / "smlouvy" / "2026" / "smlouva-č1.txt").write_text("Žluťoučký kůň 🐎\n", "utf-8")
    (root / "avatar.bin").write_bytes(bytes(range(256)) * 40)
    return root


def archive(paths: list[Path]) -> tuple[bytes, FilesFacts]:
    """Return the tar bytes of ``paths`` and their facts."""
    sink = io.BytesIO()
    facts = archive_files(paths, sink)
    return sink.getvalue(), facts


def members(data: bytes) -> Iterator[tarfile.TarInfo]:
    """Yield the members of a tar held in ``data``."""
    with tarfile.open(fileobj=io.BytesIO(data)) as archive_file:
        yield from archive_file.getmembers()


def test_archive_extracts_to_identical_files(uploads: Path, tmp_path: Path) -> None:
    data, _facts = archive([uploads])

    extract_files(io.BytesIO(data), tmp_path / "restored")

    restored = tmp_path / "restored" / "uploads"
    for path in uploads.rglob("*"):
        twin = restored / path.relative_to(uploads)
        assert twin.is_dir() == path.is_dir()
        if path.is_file():
            assert twin.read_bytes() == path.read_bytes()


def test_facts_count_entries_files_and_bytes(uploads: Path) -> None:
    _data, facts = archive([uploads])

    assert facts.entries == 6
    assert facts.regular_files == 2
    assert facts.total_bytes == 10240 + len("Žluťoučký kůň 🐎\n".encode())


def test_inspecting_the_archive_gives_the_same_tree_digest(uploads: Path) -> None:
    data, facts = archive([uploads])

    assert inspect_archive(io.BytesIO(data)) == facts


def test_tree_digest_changes_when_one_file_changes(uploads: Path) -> None:
    _data, before = archive([uploads])
    (uploads / "avatar.bin").write_bytes(b"\x01" + (uploads / "avatar.bin").read_bytes()[1:])

    _data, after = archive([uploads])

    assert before.tree_sha256 != after.tree_sha256


def test_paths_are_stored_under_their_base_names(uploads: Path) -> None:
    data, _facts = archive([uploads])

    assert {member.name.split("/")[0] for member in members(data)} == {"uploads"}


def test_symlink_is_stored_as_a_link_and_not_followed(uploads: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside-secret.txt"
    secret.write_text("do not back me up", "utf-8")
    (uploads / "link-out").symlink_to(secret)

    data, _facts = archive([uploads])

    link = next(member for member in members(data) if member.name == "uploads/link-out")
    assert link.issym()
    assert link.linkname == str(secret)
    assert b"do not back me up" not in data


def test_symlinked_folder_is_not_descended(uploads: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.txt").write_text("private", "utf-8")
    (uploads / "folder-link").symlink_to(outside)

    data, _facts = archive([uploads])

    names = {member.name for member in members(data)}
    assert "uploads/folder-link" in names
    assert not any(name.startswith("uploads/folder-link/") for name in names)


def test_relative_symlink_is_restored_as_a_link(uploads: Path, tmp_path: Path) -> None:
    (uploads / "latest").symlink_to("smlouvy/2026/smlouva-č1.txt")
    data, _facts = archive([uploads])

    extract_files(io.BytesIO(data), tmp_path / "restored")

    restored = tmp_path / "restored" / "uploads" / "latest"
    assert restored.is_symlink()
    assert restored.read_text("utf-8") == "Žluťoučký kůň 🐎\n"


def test_absolute_symlink_is_refused_naming_it(uploads: Path, tmp_path: Path) -> None:
    (uploads / "host").symlink_to("/etc/hostname")
    data, _facts = archive([uploads])

    with pytest.raises(RestoreError, match=r"'uploads/host': a link to '/etc/hostname'"):
        extract_files(io.BytesIO(data), tmp_path / "restored")
    assert not (tmp_path / "restored" / "uploads" / "host").is_symlink()


def test_missing_path_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=f"{tmp_path / 'nope'} does not exist"):
        archive([tmp_path / "nope"])


def test_socket_in_the_folder_does_not_crash_the_archive(uploads: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(uploads / "app.sock"))
    try:
        data, facts = archive([uploads])
    finally:
        server.close()

    assert "uploads/app.sock" not in {member.name for member in members(data)}
    assert inspect_archive(io.BytesIO(data)) == facts


def test_unreadable_archive_is_a_restore_error() -> None:
    with pytest.raises(RestoreError, match="files archive is unreadable"):
        inspect_archive(io.BytesIO(b"definitely not a tar archive" * 40))


def test_member_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    sink = io.BytesIO()
    with tarfile.open(fileobj=sink, mode="w") as evil:
        member = tarfile.TarInfo("../escaped.txt")
        member.size = 4
        evil.addfile(member, io.BytesIO(b"evil"))

    with pytest.raises(RestoreError):
        extract_files(io.BytesIO(sink.getvalue()), tmp_path / "restored")
    assert not (tmp_path / "escaped.txt").exists()


def test_hard_linked_file_gives_the_same_digest_when_inspected(uploads: Path) -> None:
    (uploads / "avatar-copy.bin").hardlink_to(uploads / "avatar.bin")

    data, facts = archive([uploads])

    assert inspect_archive(io.BytesIO(data)) == facts


def test_hard_linked_file_is_restored_with_its_content(uploads: Path, tmp_path: Path) -> None:
    (uploads / "avatar-copy.bin").hardlink_to(uploads / "avatar.bin")
    data, _facts = archive([uploads])

    extract_files(io.BytesIO(data), tmp_path / "restored")

    restored = tmp_path / "restored" / "uploads" / "avatar-copy.bin"
    assert restored.read_bytes() == (uploads / "avatar.bin").read_bytes()


def test_member_written_through_an_outside_link_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    sink = io.BytesIO()
    with tarfile.open(fileobj=sink, mode="w") as evil:
        link = tarfile.TarInfo("uploads/door")
        link.type = tarfile.SYMTYPE
        link.linkname = str(outside)
        evil.addfile(link)
        member = tarfile.TarInfo("uploads/door/planted.txt")
        member.size = 4
        evil.addfile(member, io.BytesIO(b"evil"))

    with pytest.raises(RestoreError):
        extract_files(io.BytesIO(sink.getvalue()), tmp_path / "restored")
    assert not (outside / "planted.txt").exists()


class DeletingSink(io.BytesIO):
    """A destination that, when the first bytes arrive, deletes a file the archive has yet to
    reach: the application removing an upload while the backup runs."""

    def __init__(self, doomed: Path) -> None:
        super().__init__()
        self.doomed = doomed

    def write(self, data: bytes, /) -> int:  # type: ignore[override]
        self.doomed.unlink(missing_ok=True)
        return super().write(data)


def test_file_deleted_during_the_archive_is_left_out(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / "a-large.bin").write_bytes(bytes(3 * 1024 * 1024))
    (folder / "b-deleted-meanwhile.txt").write_text("gone soon", "utf-8")
    sink = DeletingSink(folder / "b-deleted-meanwhile.txt")

    facts = archive_files([folder], sink)

    names = {member.name for member in members(sink.getvalue())}
    assert names == {"uploads", "uploads/a-large.bin"}
    assert inspect_archive(io.BytesIO(sink.getvalue())) == facts
