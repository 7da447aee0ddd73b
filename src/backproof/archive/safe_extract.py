"""Writing a tree below a root folder that nothing in the tree can make it leave.

``ConfinedTree`` creates folders, files, symbolic and hard links below ``root`` from names that
come from an untrusted archive, whatever the Python version (no reliance on ``tarfile``
filters, whose realpath checks were bypassed by long symlink chains, CVE-2025-4517):

- every name is relative, without ``..``; its folder is walked one component at a time from a
  file descriptor of ``root`` with ``O_NOFOLLOW``, so a symbolic link on the way is refused,
  never followed, whatever the archive created before it; the folder's descriptor is kept for
  the next members in it, each checking that the name still leads to that folder
  (``confined_folders.FolderCache``);
- a file is created anew (``O_EXCL``) after unlinking what held its name, so nothing is ever
  written through a link, symbolic or hard; a file whose writing fails is removed, never left
  half-written;
- a symbolic link's target is relative and confined: its leading ``..`` climb at most to
  ``root`` through real folders, then it only descends (no ``..`` after a name), so following it,
  or a chain of such links, lands below ``root``; a hard link's target is a name below ``root``;
- modes keep the permission bits only (setuid, setgid and sticky dropped); device files and
  FIFOs are not created at all;
- ``write_file`` returns the sha256 of the bytes it wrote, hashed as they are written (not read
  back: reading a file just written returns the page cache's copy of the same bytes, a second
  pass that proved nothing more).

Every refusal raises ``UnsafeMemberError`` naming the member and the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType

from backproof.archive.confined_folders import FolderCache, walk_folder
from backproof.errors import RestoreError

PERMISSION_BITS = 0o777
# Files are created in a folder one at a time: the kernel holds the folder's lock through a
# create, and the restore's threads waiting for it spun on the CPU (``rwsem_spin_on_owner``,
# 13 % of a 2 GB restore's CPU, when ext4 was slow to find free inodes), where threads waiting
# for a Python lock sleep. A lock by the folder's descriptor, among a bounded few.
CREATE_LOCKS = 16
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

    def __init__(self, root: Path | int) -> None:
        """``root``: the folder (made when missing), or a descriptor of it, taken over (closed
        with the tree): a process handed the restore's root writes below that very folder,
        whatever its path leads to meanwhile."""
        if isinstance(root, int):
            self.root_fd = root
        else:
            root.mkdir(parents=True, exist_ok=True)
            self.root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.folders = FolderCache(self.root_fd, UnsafeMemberError)
        self.folder_modes: dict[tuple[str, ...], tuple[int, float | None]] = {}
        self.create_locks = [threading.Lock() for _ in range(CREATE_LOCKS)]

    def __enter__(self) -> ConfinedTree:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.folders.close()
        os.close(self.root_fd)

    def make_directory(self, name: str, mode: int = 0o755, mtime: float | None = None) -> None:
        """Create the folder ``name`` (and its parents); its mode is applied by ``finish``."""
        parts = tuple(split_name(name))
        if parts:
            with self.folders.folder(parts, name):
                self.folder_modes[parts] = (mode & PERMISSION_BITS, mtime)

    def write_file(
        self,
        name: str,
        chunks: Iterable[bytes],
        mode: int = 0o644,
        mtime: float | None = None,
        *,
        sha256: str | None = None,
    ) -> str:
        """Write ``chunks`` to a new file ``name``; return the sha256 of the bytes written.

        ``sha256``: the caller has already hashed these very chunks (a blob checked against
        its plain sha256 address): they are written without hashing them a second time.
        A file whose writing fails (a chunk that cannot be read, a full disk) is removed.
        """
        with self._parent(name) as (parent_fd, leaf):
            fd = self._create(parent_fd, leaf, name)
            try:
                digest = _write_hashing(fd, chunks, sha256)
                os.fchmod(fd, mode & PERMISSION_BITS)
                if mtime is not None:
                    os.utime(fd, (mtime, mtime))
            except BaseException:
                os.close(fd)
                with contextlib.suppress(OSError):
                    os.unlink(leaf, dir_fd=parent_fd)
                raise
            os.close(fd)
        return digest

    def make_symlink(self, name: str, target: str) -> None:
        """Create the symbolic link ``name`` to ``target``, a target confined to the root."""
        check_link_target(name, target)
        with self._parent(name) as (parent_fd, leaf):
            self._clear(parent_fd, leaf, name)
            os.symlink(target, leaf, dir_fd=parent_fd)

    def make_hardlink(self, name: str, target: str) -> None:
        """Create ``name`` as a hard link to ``target``, a name below the root."""
        with (
            self._parent(target) as (source_fd, source_leaf),
            self._parent(name) as (
                parent_fd,
                leaf,
            ),
        ):
            self._clear(parent_fd, leaf, name)
            os.link(
                source_leaf, leaf, src_dir_fd=source_fd, dst_dir_fd=parent_fd, follow_symlinks=False
            )

    def finish(self) -> None:
        """Apply the folders' modes and times, deepest first (so writing into them worked)."""
        for parts, (mode, mtime) in sorted(
            self.folder_modes.items(), key=lambda item: -len(item[0])
        ):
            fd = walk_folder(self.root_fd, parts, "/".join(parts), UnsafeMemberError)
            try:
                os.fchmod(fd, mode)
                if mtime is not None:
                    os.utime(fd, (mtime, mtime))
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def _parent(self, name: str) -> Iterator[tuple[int, str]]:
        """Yield a descriptor of the folder that holds ``name``, and its last component."""
        parts = split_name(name)
        if not parts:
            raise UnsafeMemberError(f"{name!r}: names the folder itself")
        with self.folders.folder(tuple(parts[:-1]), name) as parent_fd:
            yield parent_fd, parts[-1]

    def _create(self, parent_fd: int, leaf: str, name: str) -> int:
        """Return a descriptor of the new file ``leaf``, after unlinking what held the name;
        one file at a time in a folder (``CREATE_LOCKS``)."""
        with self.create_locks[parent_fd % CREATE_LOCKS]:
            try:
                return os.open(leaf, _CREATE_FILE, 0o600, dir_fd=parent_fd)
            except FileExistsError:
                self._clear(parent_fd, leaf, name)
            return os.open(leaf, _CREATE_FILE, 0o600, dir_fd=parent_fd)

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


def _write_hashing(fd: int, chunks: Iterable[bytes], known: str | None = None) -> str:
    """Write every chunk to ``fd`` whole; return the sha256 of what was written (``known``,
    when the caller hashed these chunks already)."""
    digest = hashlib.sha256()
    for chunk in chunks:
        view = memoryview(chunk)
        if known is None:
            digest.update(view)
        while view:
            view = view[os.write(fd, view) :]
    return known if known is not None else digest.hexdigest()
