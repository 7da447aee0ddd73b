"""Open descriptors of the folders below a restore's root, each reached following no link.

``FolderCache`` hands ``ConfinedTree`` a descriptor of the folder that holds a member, so
writing 20,000 files into 100 folders walks each folder's name from the root once, not once a
file (the walk opens every component with ``O_NOFOLLOW``: about three system calls a component).

What keeps it as safe as a walk per file:

- a descriptor names a folder, not a path: what was opened by a walk from the root that
  followed no link stays that folder whatever happens to the names on its way, so nothing is
  ever written through a link met after the walk;
- every use checks that the folder's name still leads, from the root, to that very folder
  (device and inode, one ``fstatat`` not following a last link): a name swapped for a symbolic
  link, or a folder renamed away, is refused, as the walk would have refused it;
- at most ``FOLDERS_HELD`` descriptors stay open (restores run with the default limit of 1,024
  descriptors); one that falls out while a thread uses it is closed only once that thread is
  done with it, so no thread writes through a number the system gave to another file.

The cache is shared by the threads of a restore (one lock around its bookkeeping).
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

FOLDERS_HELD = 128
OPEN_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class HeldFolder:
    """An open folder below the root: its descriptor, identity and the threads using it."""

    descriptor: int
    device: int
    inode: int
    users: int = 0
    is_dropped: bool = False


class FolderCache:
    """Descriptors of folders below ``root_fd``, keyed by their components; a walk on a miss.

    ``refuse`` builds the error raised for a member whose way holds a link or a non-folder.
    """

    def __init__(self, root_fd: int, refuse: type[Exception]) -> None:
        self.root_fd = root_fd
        self.refuse = refuse
        self.lock = threading.Lock()
        self.held: OrderedDict[tuple[str, ...], HeldFolder] = OrderedDict()

    @contextlib.contextmanager
    def folder(self, parts: tuple[str, ...], name: str) -> Iterator[int]:
        """Yield a descriptor of the folder ``parts`` (made when missing), checked to be the
        one its name leads to now; it stays open until the block ends.

        Raises ``refuse`` when a component is a link or not a folder, or the name no longer
        leads to the folder opened before.
        """
        if not parts:
            yield self.root_fd
            return
        held = self._take(parts, name)
        try:
            yield held.descriptor
        finally:
            self._give_back(held)

    def close(self) -> None:
        """Close every descriptor (once no thread writes any more)."""
        with self.lock:
            for held in self.held.values():
                os.close(held.descriptor)
            self.held.clear()

    def _take(self, parts: tuple[str, ...], name: str) -> HeldFolder:
        with self.lock:
            held = self.held.get(parts)
            if held is not None:
                held.users += 1
                self.held.move_to_end(parts)
        if held is None:
            return self._open(parts, name)
        try:
            self._check(held, parts, name)
        except BaseException:
            self._give_back(held)
            raise
        return held

    def _open(self, parts: tuple[str, ...], name: str) -> HeldFolder:
        """Walk ``parts`` from the root; keep the folder (or the one another thread kept)."""
        descriptor = walk_folder(self.root_fd, parts, name, self.refuse)
        try:
            status = os.fstat(descriptor)
        except BaseException:
            os.close(descriptor)
            raise
        opened = HeldFolder(descriptor, status.st_dev, status.st_ino, users=1)
        with self.lock:
            kept = self.held.get(parts)
            if kept is None or (kept.device, kept.inode) != (opened.device, opened.inode):
                if kept is not None:
                    self._drop(parts, kept)
                self.held[parts] = opened
                self._drop_oldest()
                return opened
            kept.users += 1
        os.close(descriptor)
        return kept

    def _check(self, held: HeldFolder, parts: tuple[str, ...], name: str) -> None:
        """Refuse a folder whose name no longer leads from the root to it."""
        way = "/".join(parts)
        try:
            status = os.stat(way, dir_fd=self.root_fd, follow_symlinks=False)
        except OSError as exc:
            raise self.refuse(f"{name!r}: {way!r} on its way is gone ({exc})") from exc
        if stat.S_ISLNK(status.st_mode):
            raise self.refuse(f"{name!r}: {way!r} on its way is a symbolic link")
        if (status.st_dev, status.st_ino) != (held.device, held.inode):
            raise self.refuse(f"{name!r}: {way!r} on its way was replaced during the restore")

    def _give_back(self, held: HeldFolder) -> None:
        with self.lock:
            held.users -= 1
            if held.is_dropped and held.users == 0:
                os.close(held.descriptor)

    def _drop_oldest(self) -> None:
        """Let go of the least recently used folders beyond ``FOLDERS_HELD`` (lock held)."""
        while len(self.held) > FOLDERS_HELD:
            parts = next(iter(self.held))
            self._drop(parts, self.held[parts])

    def _drop(self, parts: tuple[str, ...], held: HeldFolder) -> None:
        """Forget a folder; close it now or when its last user gives it back (lock held)."""
        del self.held[parts]
        held.is_dropped = True
        if held.users == 0:
            os.close(held.descriptor)


def walk_folder(root_fd: int, parts: tuple[str, ...], name: str, refuse: type[Exception]) -> int:
    """Return a descriptor of the folder ``parts`` below ``root_fd``, creating missing ones and
    following no link on the way.

    Raises ``refuse`` naming the component that is a link or not a folder.
    """
    descriptor = os.dup(root_fd)
    try:
        for part in parts:
            next_descriptor = _open_or_make_folder(descriptor, part, name, refuse)
            os.close(descriptor)
            descriptor = next_descriptor
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _open_or_make_folder(parent_fd: int, part: str, name: str, refuse: type[Exception]) -> int:
    """Return a descriptor of the folder ``part`` in ``parent_fd``, made when it is missing."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(part, 0o700, dir_fd=parent_fd)
    try:
        return os.open(part, OPEN_FOLDER, dir_fd=parent_fd)
    except OSError as exc:
        existing = os.stat(part, dir_fd=parent_fd, follow_symlinks=False)
        kind = "a symbolic link" if stat.S_ISLNK(existing.st_mode) else "not a folder"
        raise refuse(f"{name!r}: {part!r} on its way is {kind}") from exc
