"""Writing a backup's tree back on every core: files written by a pool, the digest in order.

Folders and links are made here, in the list's order; each file is read from the packs
(decompressed, checked against its addresses) and written by a thread of the pool through the
same ``ConfinedTree``, whose every step is confined on its own (a folder is walked with
``O_NOFOLLOW`` from the root, and its kept descriptor checked against its name at each use), so
writing several files at once keeps its safety.
The tree's digest takes each entry in the list's order, as written.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from backproof.archive.safe_extract import ConfinedTree
from backproof.filestore.entries import FileEntry
from backproof.filestore.pipeline import worker_count
from backproof.filestore.reader import BlobMissingError, BlobReader, Damage
from backproof.sources.files import TreeDigest

FILES_AHEAD = 64  # files written ahead of the digest: bounds what waits, not the bytes


def write_tree(
    tree: ConfinedTree,
    reader: BlobReader,
    entries: Iterable[FileEntry],
    digest: TreeDigest,
    damage: Damage,
) -> None:
    """Write every entry below ``tree``, adding each to ``digest`` (a file with the sha256 of
    the bytes written); a file whose blobs cannot be read is added to ``damage`` instead.

    Raises UnsafeMemberError for an entry the tree refuses, OSError for what the system refuses.
    """
    waiting: deque[tuple[FileEntry, Future[str] | str]] = deque()
    pool = ThreadPoolExecutor(worker_count() + 1, thread_name_prefix="backproof-restore")
    try:
        for entry in entries:
            if entry.kind == "f":
                waiting.append((entry, pool.submit(_write_file, tree, reader, entry)))
            else:
                waiting.append((entry, _make_other(tree, entry)))
            _settle(waiting, digest, damage, FILES_AHEAD)
        _settle(waiting, digest, damage, 0)
    finally:
        for _entry, pending in waiting:
            if isinstance(pending, Future):
                pending.cancel()
        pool.shutdown(wait=True)


def _settle(
    waiting: deque[tuple[FileEntry, Future[str] | str]],
    digest: TreeDigest,
    damage: Damage,
    keep: int,
) -> None:
    """Add the entries at the front that are written; wait while more than ``keep`` wait."""
    while waiting:
        entry, pending = waiting[0]
        if isinstance(pending, Future):
            if not pending.done() and len(waiting) <= keep:
                return
            try:
                content = pending.result()
            except BlobMissingError as exc:
                waiting.popleft()
                damage.add(str(exc), entry.path)
                continue
        else:
            content = pending
        waiting.popleft()
        digest.add_entry(entry.kind, entry.path, entry.size, content)


def _write_file(tree: ConfinedTree, reader: BlobReader, entry: FileEntry) -> str:
    """Write a file (a job of the pool); return the sha256 of the bytes written."""
    return tree.write_file(entry.path, reader.file_pieces(entry), entry.mode, entry.mtime_ns / 1e9)


def _make_other(tree: ConfinedTree, entry: FileEntry) -> str:
    """Make a folder or a symbolic link; return what the digest holds of it."""
    if entry.kind == "d":
        tree.make_directory(entry.path, entry.mode, entry.mtime_ns / 1e9)
        return ""
    tree.make_symlink(entry.path, entry.link)
    return entry.link
