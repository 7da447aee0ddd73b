"""The file list as a backup writes it: entries wait for their reads, then go out in walk order.

A file being read in the pool is a ``Pending`` entry; the entries behind it wait until it is
ready (at most ``WAITING`` of them, then the list waits for the first), so the list keeps the
walk's order whatever order the reads finish in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from backproof.archive.streams import Writer
from backproof.errors import SourceError
from backproof.filestore.entries import FileEntry, encode_entry
from backproof.filestore.files_cache import CachedFile
from backproof.filestore.pipeline import Blob, BlobMaker, FileRead
from backproof.sources.files import TreeDigest

WAITING = 4096
BATCH_BYTES = 1024 * 1024
BATCH_FILES = 64
LINES_BYTES = 64 * 1024  # the list's lines go to the part's writer in pieces of this size


@dataclass
class SmallBatch:
    """Small files read by one job of the pool (a job per thumbnail would cost more than its
    reading); ``future`` is set once the job is started."""

    paths: list[str | Path] = field(default_factory=list)
    size_bytes: int = 0
    future: Future[list[FileRead | None]] | None = None

    def add(self, path: str | Path, size_bytes: int) -> int:
        """Add a file; return its place in the batch."""
        self.paths.append(path)
        self.size_bytes += size_bytes
        return len(self.paths) - 1

    @property
    def is_full(self) -> bool:
        """Return True when the batch should be started now."""
        return self.size_bytes >= BATCH_BYTES or len(self.paths) >= BATCH_FILES


@dataclass
class Pending:
    """A file being read: a small one in a batch, a large one by its chunks' jobs."""

    name: str
    read: SmallBatch | FileRead
    place: int = 0
    chunks: list[Future[Blob]] = field(default_factory=list)

    def is_ready(self) -> bool:
        """Return True when every job of the read is done."""
        if isinstance(self.read, SmallBatch):
            return self.read.future is not None and self.read.future.done()
        return all(chunk.done() for chunk in self.chunks)

    def result(self) -> FileRead | None:
        """Return the read (waiting for it), None when the file was gone."""
        if isinstance(self.read, SmallBatch):
            assert self.read.future is not None  # noqa: S101 - the listing started it
            return self.read.future.result()[self.place]
        addresses = [chunk.result().address for chunk in self.chunks]
        self.read.content = CachedFile(self.read.content.sha256, addresses)
        return self.read


Waiting = FileEntry | Pending


@dataclass
class Listing:
    """The entries of the list not yet written, and the digest of those written."""

    sink: Writer
    start: Callable[[SmallBatch], None]
    waiting: deque[Waiting] = field(default_factory=deque)
    tree: TreeDigest = field(default_factory=TreeDigest)
    lines: list[bytes] = field(default_factory=list)  # encoded, not yet written
    lines_bytes: int = 0

    def add(self, item: Waiting | None) -> None:
        """Queue an entry (None: nothing to list); one that waits for nothing is written at
        once (most entries of a backup of unchanged files)."""
        if item is None:
            return
        if self.waiting or isinstance(item, Pending):
            self.waiting.append(item)
        else:
            self._write(item)

    def emit_ready(
        self, finish: Callable[[str, FileRead], FileEntry | None], keep: int = WAITING
    ) -> None:
        """Write the entries at the front that are ready, and more (waiting for them) while
        over ``keep`` entries wait; ``finish`` turns a read into its entry. With ``keep`` 0
        every line is written out before it returns."""
        while self.waiting:
            first = self.waiting[0]
            if isinstance(first, Pending):
                if not first.is_ready() and len(self.waiting) <= keep:
                    break
                if isinstance(first.read, SmallBatch):
                    self.start(first.read)
                read = first.result()
                entry = None if read is None else finish(first.name, read)
            else:
                entry = first
            self.waiting.popleft()
            if entry is not None:
                self._write(entry)
        if self.lines and keep == 0:
            self._flush()

    def _write(self, entry: FileEntry) -> None:
        line = encode_entry(entry)
        self.lines.append(line)
        self.lines_bytes += len(line)
        kind = entry.kind  # the content property inlined: a call per file
        content = entry.sha256 if kind == "f" else entry.link
        self.tree.add_entry(kind, entry.path, entry.size, content)
        if self.lines_bytes >= LINES_BYTES:
            self._flush()

    def _flush(self) -> None:
        self.sink.write(b"".join(self.lines))
        self.lines.clear()
        self.lines_bytes = 0


def read_batch(maker: BlobMaker, paths: list[str | Path]) -> list[FileRead | None]:
    """Read small files (a job of the pool); None for one gone since it was listed.

    Raises SourceError naming a file that cannot be read.
    """
    reads: list[FileRead | None] = []
    made: list[FileRead] = []
    contents: list[bytes] = []
    for path in paths:
        try:
            read, data = maker.read_small(path)
        except OSError as exc:
            check_read_failure(path, exc)
            reads.append(None)
            continue
        reads.append(read)
        if not read.is_large:  # grown past one blob since it was listed: chunked later
            made.append(read)
            contents.append(data)
    maker.add_blobs(made, contents)
    return reads


def check_read_failure(path: str | Path, error: OSError) -> None:
    """Let a file deleted since its folder was listed be skipped (as GNU tar would).

    Raises SourceError naming ``path`` for any other error.
    """
    if isinstance(error, FileNotFoundError):
        return
    if isinstance(error, PermissionError):
        raise SourceError(
            f"cannot read {path}: permission denied; let the backup user read it "
            "or remove it from targets[].files"
        ) from error
    raise SourceError(f"cannot store {path}: {error.strerror or error}") from error
