"""Writing a tree below a root folder that nothing in the tree can make it leave.

``ConfinedTree`` creates folders, files, symbolic and hard links below ``root`` from names that
come from an untrusted archive, whatever the Python version (no reliance on ``tarfile``
filters, whose realpath checks were bypassed by long symlink chains, CVE-2025-4517):

- every name is relative, without ``..``; it is walked one component at a time from a file
  descriptor of ``root`` with ``O_NOFOLLOW``, so a symbolic link on the way is refused, never
  followed, whatever the archive created before it;
- a file is created anew (``O_EXCL``) after unlinking what held its name, so nothing is ever
  written through a link, symbolic or hard;
- a symbolic link's target is relative and confined: its leading ``..`` climb at most to
  ``root`` through real folders, then it only descends (no ``..`` after a name), so following it,
  or a chain of such links, lands below ``root``; a hard link's target is a name below ``root``;
- modes keep the permission bits only (setuid, setgid and sticky dropped); device files and
  FIFOs are not created at all;
- ``write_file`` returns the sha256 read back from the file it wrote, not from what it was given.

Every refusal raises ``UnsafeMemberError`` naming the member and the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from backproof.errors import RestoreError

PERMISSION_BITS = 0o777
READ_BACK_BYTES = 1024 * 1024
_OPEN_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CREATE_FILE = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeMemberError(RestoreError):
    """A member of an archive would be written outside its root folder, or is not allowed."""


def split_name(name: str) -> list[str]:
    """Return the components of a member name (``.`` and empty ones dropped).

    Raises UnsafeMemberError when the name is absolute or holds a ``..`` component.
    """
    if name.startswith("/"):
        raise UnsafeMemberError(f"{name!r}: an absolute name is refused")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeMemberError(f"{name!r}: a name with '..' is refused")
    return parts


def check_link_target(name: str, target: str) -> None:
    """Refuse a symbolic link target that could lead out of the root.

    Raises UnsafeMemberError when ``target`` is empty or absolute, climbs above the root, or
    holds a ``..`` after a name (which a link on the way could turn into an escape).
    """
    if not target or target.startswith("/"):
        raise UnsafeMemberError(f"{name!r}: a link to {target!r} (absolute or empty) is refused")
    parts = [part for part in target.split("/") if part not in ("", ".")]
    climbs = 0
    while climbs < len(parts) and parts[climbs] == "..":
        climbs += 1
    if ".." in parts[climbs:] or climbs > len(split_name(name)) - 1:
        raise UnsafeMemberError(f"{name!r}: a link to {target!r} would leave the folder")


class ConfinedTree:
    """Folders, files and links created below ``root`` only; a context manager.

    Raises UnsafeMemberError for a member it refuses, OSError for what the system refuses.
    """

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.folder_modes: dict[tuple[str, ...], tuple[int, float | None]] = {}

    def __enter__(self) -> ConfinedTree:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        os.close(self.root_fd)

    def make_directory(self, name: str, mode: int = 0o755, mtime: float | None = None) -> None:
        """Create the folder ``name`` (and its parents); its mode is applied by ``finish``."""
        parts = split_name(name)
        if parts:
            os.close(self._open_folder(parts, name))
            self.folder_modes[tuple(parts)] = (mode & PERMISSION_BITS, mtime)

    def write_file(
        self, name: str, chunks: Iterable[bytes], mode: int = 0o644, mtime: float | None = None
    ) -> str:
        """Write ``chunks`` to a new file ``name``; return the sha256 read back from it."""
        parent_fd, leaf = self._open_parent(name)
        try:
            self._clear(parent_fd, leaf, name)
            fd = os.open(leaf, _CREATE_FILE, 0o600, dir_fd=parent_fd)
        finally:
            os.close(parent_fd)
        try:
            for chunk in chunks:
                _write_all(fd, chunk)
            digest = _read_back(fd)
            os.fchmod(fd, mode & PERMISSION_BITS)
            if mtime is not None:
                os.utime(fd, (mtime, mtime))
        finally:
            os.close(fd)
        return digest

    def make_symlink(self, name: str, target: str) -> None:
        """Create the symbolic link ``name`` to ``target``, a target confined to the root."""
        check_link_target(name, target)
        parent_fd, leaf = self._open_parent(name)
        try:
            self._clear(parent_fd, leaf, name)
            os.symlink(target, leaf, dir_fd=parent_fd)
        finally:
            os.close(parent_fd)

    def make_hardlink(self, name: str, target: str) -> None:
        """Create ``name`` as a hard link to ``target``, a name below the root."""
        source_fd, source_leaf = self._open_parent(target)
        try:
            parent_fd, leaf = self._open_parent(name)
            try:
                self._clear(parent_fd, leaf, name)
                os.link(
                    source_leaf,
                    leaf,
                    src_dir_fd=source_fd,
                    dst_dir_fd=parent_fd,
                    follow_symlinks=False,
                )
            finally:
                os.close(parent_fd)
        finally:
            os.close(source_fd)

    def finish(self) -> None:
        """Apply the folders' modes and times, deepest first (so writing into them worked)."""
        for parts, (mode, mtime) in sorted(
            self.folder_modes.items(), key=lambda item: -len(item[0])
        ):
            fd = self._open_folder(list(parts), "/".join(parts))
            try:
                os.fchmod(fd, mode)
                if mtime is not None:
                    os.utime(fd, (mtime, mtime))
            finally:
                os.close(fd)

    def _open_parent(self, name: str) -> tuple[int, str]:
        """Return an open descriptor of the folder that holds ``name``, and its last component."""
        parts = split_name(name)
        if not parts:
            raise UnsafeMemberError(f"{name!r}: names the folder itself")
        return self._open_folder(parts[:-1], name), parts[-1]

    def _open_folder(self, parts: list[str], name: str) -> int:
        """Return a descriptor of the folder ``parts``, creating missing ones, following no link."""
        fd = os.dup(self.root_fd)
        try:
            for part in parts:
                next_fd = _open_or_make_folder(fd, part, name)
                os.close(fd)
                fd = next_fd
        except BaseException:
            os.close(fd)
            raise
        return fd

    @staticmethod
    def _clear(parent_fd: int, leaf: str, name: str) -> None:
        """Unlink what holds ``leaf`` (never a folder), so the new entry is made afresh."""
        try:
            existing = os.stat(leaf, dir_fd=parent_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(existing.st_mode):
            raise UnsafeMemberError(f"{name!r}: a folder of that name is in the way")
        os.unlink(leaf, dir_fd=parent_fd)


def _open_or_make_folder(parent_fd: int, part: str, name: str) -> int:
    """Return a descriptor of the folder ``part`` in ``parent_fd``, made when it is missing."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(part, 0o700, dir_fd=parent_fd)
    try:
        return os.open(part, _OPEN_FOLDER, dir_fd=parent_fd)
    except OSError as exc:
        existing = os.stat(part, dir_fd=parent_fd, follow_symlinks=False)
        kind = "a symbolic link" if stat.S_ISLNK(existing.st_mode) else "not a folder"
        raise UnsafeMemberError(f"{name!r}: {part!r} on its way is {kind}") from exc


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_back(fd: int) -> str:
    """Return the sha256 of the whole file behind ``fd``, read from its first byte."""
    digest = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, READ_BACK_BYTES, offset):
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()
