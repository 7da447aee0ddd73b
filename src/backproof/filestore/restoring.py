"""Writing a backup's tree back on every core: files written by a pool, the digest in order.

Folders and links are made here, in the list's order; each file is read from the packs
(decompressed, checked against its addresses) and written by a thread of the pool through the
same ``ConfinedTree`` (or, with ``FileWriters``, by a worker process through a tree rooted at
the same root descriptor), whose every step is confined on its own (a folder is walked with
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
from backproof.filestore.file_writers import FileWriters, Written
from backproof.filestore.pipeline import worker_count
from backproof.filestore.reader import BlobMissingError, BlobReader, Damage
from backproof.sources.files import TreeDigest

BATCH_FILES = 32  # small files written by one job of the pool: one look-up, one hand-over
BATCH_BYTES = 4 * 1024 * 1024  # a batch ends at this many bytes (a large file is one alone)
BATCHES_AHEAD = 8  # batches written ahead of the digest: bounds what waits, not the bytes
# Handed to worker processes ahead of the digest (no bytes wait here): enough for each process
# to have a few packs' batches queued while the others work on theirs.
BATCHES_IN_WORKERS = 48

Pending = tuple[list[FileEntry], "Future[Written] | list[str]"]


def write_tree(
    tree: ConfinedTree,
    reader: BlobReader,
    entries: Iterable[FileEntry],
    digest: TreeDigest,
    damage: Damage,
    writers: FileWriters | None = None,
) -> None:
    """Write every entry below ``tree``, adding each to ``digest`` (a file with the sha256 of
    the bytes written); a file whose blobs cannot be read is added to ``damage`` instead.
    ``writers``: worker processes write the files (rooted at ``tree``'s root), not the pool.

    Raises UnsafeMemberError for an entry the tree refuses, OSError for what the system refuses.
    """
    waiting: deque[Pending] = deque()
    pool = ThreadPoolExecutor(
        worker_count() + 1 if writers is None else 1, thread_name_prefix="backproof-restore"
    )
    ahead = BATCHES_AHEAD if writers is None else BATCHES_IN_WORKERS

    def submit(batch: list[FileEntry]) -> Future[Written]:
        if writers is not None:
            return writers.submit(batch)
        return pool.submit(_write_files, tree, reader, batch)

    try:
        batch: list[FileEntry] = []
        batch_bytes = 0
        for entry in entries:
            if entry.kind == "f":
                batch.append(entry)
                batch_bytes += entry.size
                if len(batch) < BATCH_FILES and batch_bytes < BATCH_BYTES:
                    continue
            if batch:
                waiting.append((batch, submit(batch)))
                batch, batch_bytes = [], 0
            if entry.kind != "f":
                waiting.append(([entry], [_make_other(tree, entry)]))
            _settle(waiting, digest, damage, ahead)
        if batch:
            waiting.append((batch, submit(batch)))
        _settle(waiting, digest, damage, 0)
    finally:
        for _batch, pending in waiting:
            if isinstance(pending, Future):
                pending.cancel()
        pool.shutdown(wait=True)


def _settle(waiting: deque[Pending], digest: TreeDigest, damage: Damage, keep: int) -> None:
    """Add the entries at the front that are written; wait while more than ``keep`` wait."""
    while waiting:
        batch, pending = waiting[0]
        if isinstance(pending, Future):
            if not pending.done() and len(waiting) <= keep:
                return
            contents: Written | list[str] = pending.result()
        else:
            contents = pending
        waiting.popleft()
        for entry, content in zip(batch, contents, strict=True):
            if isinstance(content, BlobMissingError):
                damage.add(str(content), entry.path)
            else:
                digest.add_entry(entry.kind, entry.path, entry.size, content)


def _write_files(tree: ConfinedTree, reader: BlobReader, batch: list[FileEntry]) -> Written:
    """Write a batch of files (a job of the pool); return the sha256 of each one's bytes, or
    why its blobs cannot be read."""
    located = reader.locate_files(batch)
    written: Written = []
    for entry in batch:
        pieces = reader.file_pieces(entry, located)
        mtime, sha256 = entry.mtime_ns / 1e9, reader.known_sha256(entry)
        try:
            written.append(tree.write_file(entry.path, pieces, entry.mode, mtime, sha256=sha256))
        except BlobMissingError as exc:
            written.append(exc)
    return written


def _make_other(tree: ConfinedTree, entry: FileEntry) -> str:
    """Make a folder or a symbolic link; return what the digest holds of it."""
    if entry.kind == "d":
        tree.make_directory(entry.path, entry.mode, entry.mtime_ns / 1e9)
        return ""
    tree.make_symlink(entry.path, entry.link)
    return entry.link
