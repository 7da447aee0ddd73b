"""Files restore that cannot escape: crafted archives against ``extract_files`` and the tree."""

from __future__ import annotations

import hashlib
import io
import stat
import tarfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backproof.archive.confined_folders import FOLDERS_HELD
from backproof.archive.safe_extract import ConfinedTree, UnsafeMemberError, check_link_target
from backproof.errors import RestoreError
from backproof.sources.files import extract_files


def tar_of(*members: tuple[tarfile.TarInfo, bytes | None]) -> io.BytesIO:
    """Return a tar stream holding ``members`` (content for regular files, else None)."""
    sink = io.BytesIO()
    with tarfile.open(fileobj=sink, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member, content in members:
            if content is not None:
                member.size = len(content)
            archive.addfile(member, io.BytesIO(content) if content is not None else None)
    sink.seek(0)
    return sink


def entry(
    name: str, kind: bytes = tarfile.REGTYPE, link: str = "", mode: int = 0o644
) -> tarfile.TarInfo:
    """Return a tar header of ``kind`` named ``name``."""
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = link
    member.mode = mode
    return member


def symlink_chain_archive(leaf: str) -> io.BytesIO:
    """The CVE-2025-4517 archive: a chain of links whose real path exceeds PATH_MAX, so that
    ``os.path.realpath`` stops resolving and tarfile's filters see an inside path, then a file
    written through ``escape`` (which the kernel resolves to the folder's parent)."""
    folder_name, steps = "d" * 247, "abcdefghijklmnop"
    members: list[tuple[tarfile.TarInfo, bytes | None]] = []
    for depth, step in enumerate(steps):
        path = f"{folder_name}/" * depth
        members.append((entry(path + folder_name, tarfile.DIRTYPE, mode=0o755), None))
        members.append((entry(path + step, tarfile.SYMTYPE, folder_name), None))
    top = "/".join(steps) + "/" + "l" * 254
    members.append((entry(top, tarfile.SYMTYPE, "../" * len(steps)), None))
    members.append((entry("escape", tarfile.SYMTYPE, top + "/.."), None))
    members.append((entry(f"escape/{leaf}"), b"planted"))
    return tar_of(*members)


def test_long_symlink_chain_cannot_write_outside_the_folder(tmp_path: Path) -> None:
    with pytest.raises(RestoreError, match="on its way is a symbolic link"):
        extract_files(symlink_chain_archive("planted.txt"), tmp_path / "restored")

    assert not (tmp_path / "planted.txt").exists()


def test_absolute_member_name_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "absolute.txt"

    with pytest.raises(RestoreError, match="an absolute name is refused"):
        extract_files(tar_of((entry(str(outside)), b"evil")), tmp_path / "restored")
    assert not outside.exists()


def test_symlink_leaving_the_folder_is_refused(tmp_path: Path) -> None:
    archive = tar_of((entry("uploads/out", tarfile.SYMTYPE, "../../outside"), None))

    with pytest.raises(RestoreError, match="would leave the folder"):
        extract_files(archive, tmp_path / "restored")
    assert not (tmp_path / "restored" / "uploads" / "out").is_symlink()


def test_symlink_climbing_after_a_link_is_refused(tmp_path: Path) -> None:
    archive = tar_of(
        (entry("a/root", tarfile.SYMTYPE, ".."), None),
        (entry("a/b/escape", tarfile.SYMTYPE, "../root/.."), None),
    )

    with pytest.raises(RestoreError, match=r"'a/b/escape': a link to '\.\./root/\.\.'"):
        extract_files(archive, tmp_path / "restored")


def test_hard_link_to_a_file_outside_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    archive = tar_of(
        (entry("uploads/copy", tarfile.LNKTYPE, str(secret)), None),
        (entry("uploads/copy"), b"overwritten"),
    )

    with pytest.raises(RestoreError, match="an absolute name is refused"):
        extract_files(archive, tmp_path / "restored")
    assert secret.read_text() == "secret"


def test_file_is_never_written_through_an_existing_hard_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("untouched")
    restored = tmp_path / "restored"
    restored.mkdir()
    (restored / "linked.txt").hardlink_to(outside)

    extract_files(tar_of((entry("linked.txt"), b"from the backup")), restored)

    assert outside.read_text() == "untouched"
    assert (restored / "linked.txt").read_text() == "from the backup"


def test_file_below_an_existing_outside_symlink_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    restored = tmp_path / "restored"
    restored.mkdir()
    (restored / "door").symlink_to(outside)

    with pytest.raises(RestoreError, match="'door' on its way is a symbolic link"):
        extract_files(tar_of((entry("door/planted.txt"), b"evil")), restored)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("kind", [tarfile.FIFOTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE])
def test_device_files_and_fifos_are_refused(tmp_path: Path, kind: bytes) -> None:
    with pytest.raises(RestoreError, match="a device file or FIFO is not restored"):
        extract_files(tar_of((entry("uploads/special", kind), None)), tmp_path / "restored")
    assert not (tmp_path / "restored" / "uploads" / "special").exists()


def test_setuid_and_setgid_bits_are_dropped(tmp_path: Path) -> None:
    archive = tar_of(
        (entry("bin", tarfile.DIRTYPE, mode=0o2755), None),
        (entry("bin/tool", mode=0o6755), b"#!/bin/sh\n"),
    )

    extract_files(archive, tmp_path / "restored")

    assert stat.S_IMODE((tmp_path / "restored" / "bin" / "tool").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "restored" / "bin").stat().st_mode) == 0o755


def test_confined_links_and_read_only_folders_are_restored(tmp_path: Path) -> None:
    archive = tar_of(
        (entry("app", tarfile.DIRTYPE, mode=0o555), None),
        (entry("app/data.txt", mode=0o444), b"data"),
        (entry("app/latest", tarfile.SYMTYPE, "data.txt"), None),
        (entry("app/copy", tarfile.LNKTYPE, "app/data.txt"), None),
        (entry("other/up", tarfile.SYMTYPE, "../app/data.txt"), None),
    )

    extract_files(archive, tmp_path / "restored")

    restored = tmp_path / "restored"
    assert (restored / "app" / "latest").read_text() == "data"
    assert (restored / "other" / "up").read_text() == "data"
    assert (restored / "app" / "copy").stat().st_ino == (
        restored / "app" / "data.txt"
    ).stat().st_ino
    (restored / "app").chmod(0o755)  # let pytest remove it


def test_write_file_returns_the_digest_of_the_written_file(tmp_path: Path) -> None:
    with ConfinedTree(tmp_path) as tree:
        digest = tree.write_file("a/b.txt", [b"one ", b"two"])

    assert digest == hashlib.sha256((tmp_path / "a" / "b.txt").read_bytes()).hexdigest()
    assert digest == hashlib.sha256(b"one two").hexdigest()


def test_write_file_with_a_known_sha256_writes_the_bytes_and_returns_it(tmp_path: Path) -> None:
    known = hashlib.sha256(b"one two").hexdigest()
    with ConfinedTree(tmp_path) as tree:
        digest = tree.write_file("a/b.txt", [b"one ", b"two"], 0o640, sha256=known)

    assert digest == known
    assert (tmp_path / "a" / "b.txt").read_bytes() == b"one two"
    assert (tmp_path / "a" / "b.txt").stat().st_mode & 0o777 == 0o640


def test_folder_in_the_way_of_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()

    with ConfinedTree(tmp_path) as tree, pytest.raises(UnsafeMemberError, match="a folder"):
        tree.write_file("taken", [b"x"])


@pytest.mark.parametrize(
    ("name", "target"),
    [("a/l", "b"), ("a/l", "../b/c"), ("a/b/l", "../../c"), ("l", "./c"), ("a/l", "..")],
)
def test_check_link_target_accepts_confined_targets(name: str, target: str) -> None:
    check_link_target(name, target)


@pytest.mark.parametrize(
    ("name", "target"),
    [("l", "/etc"), ("l", ""), ("a/l", "../.."), ("l", "b/../c"), ("a/b/l", "../../../c")],
)
def test_check_link_target_refuses_escaping_targets(name: str, target: str) -> None:
    with pytest.raises(UnsafeMemberError):
        check_link_target(name, target)


def test_symlink_swapped_for_a_folder_already_written_into_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    restored = tmp_path / "restored"

    with ConfinedTree(restored) as tree:
        tree.write_file("a/first.txt", [b"first"])  # the tree now holds a descriptor of 'a'
        (restored / "a").rename(restored / "moved")
        (restored / "a").symlink_to(outside)
        with pytest.raises(UnsafeMemberError, match="'a' on its way is a symbolic link"):
            tree.write_file("a/second.txt", [b"planted"])

    assert list(outside.iterdir()) == []
    assert sorted(path.name for path in (restored / "moved").iterdir()) == ["first.txt"]


def test_folder_swapped_for_another_folder_already_written_into_is_refused(
    tmp_path: Path,
) -> None:
    with ConfinedTree(tmp_path) as tree:
        tree.write_file("a/first.txt", [b"first"])
        (tmp_path / "a").rename(tmp_path / "moved")
        (tmp_path / "a").mkdir()
        with pytest.raises(UnsafeMemberError, match="'a' on its way was replaced"):
            tree.write_file("a/second.txt", [b"second"])

    assert list((tmp_path / "a").iterdir()) == []


def test_file_whose_content_fails_midway_is_removed(tmp_path: Path) -> None:
    def failing_chunks() -> Iterator[bytes]:
        yield b"half of it"
        raise RestoreError("blob missing")

    with ConfinedTree(tmp_path) as tree, pytest.raises(RestoreError, match="blob missing"):
        tree.write_file("a/partial.txt", failing_chunks())

    assert list((tmp_path / "a").iterdir()) == []


def test_files_in_more_folders_than_held_open_are_all_written(tmp_path: Path) -> None:
    names = [f"folder-{index}/file.txt" for index in range(FOLDERS_HELD + 10)]

    with ConfinedTree(tmp_path) as tree:
        for name in names + names[:5]:  # the first folders again, after they were let go
            tree.write_file(name, [name.encode()])

    assert all((tmp_path / name).read_text() == name for name in names)


def test_threads_writing_into_more_folders_than_held_open_write_every_file(
    tmp_path: Path,
) -> None:
    names = [f"folder-{index % (FOLDERS_HELD * 2)}/file-{index}.txt" for index in range(2000)]

    with ConfinedTree(tmp_path) as tree, ThreadPoolExecutor(8) as pool:
        digests = list(pool.map(lambda name: tree.write_file(name, [name.encode()]), names))

    assert digests == [hashlib.sha256(name.encode()).hexdigest() for name in names]
    assert all((tmp_path / name).read_text() == name for name in names)


def test_threads_creating_and_replacing_files_in_one_folder_write_every_file(
    tmp_path: Path,
) -> None:
    names = [f"one/file-{index % 300}.txt" for index in range(1200)]  # each name four times

    with ConfinedTree(tmp_path) as tree, ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda name: tree.write_file(name, [name.encode()]), names))

    assert sorted(path.name for path in (tmp_path / "one").iterdir()) == sorted(
        {name.split("/")[1] for name in names}
    )
    assert all((tmp_path / name).read_text() == name for name in names)
