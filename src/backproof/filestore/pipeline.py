"""Reading, hashing and compressing blobs on every core, handed back in the walk's order.

hashlib and zstandard release the GIL on large buffers, so a few threads hash and compress
independent files (and the chunks of a large file) at once while the walk goes on. What they
produce is taken back strictly in the order it was submitted: packs fill in the same order
whatever the timing, and the file list keeps the walk's order. The work in flight is bounded by
bytes and by count, so memory does not grow with the number of files or the size of one.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard

from backproof.filestore.addressing import AddressKey
from backproof.filestore.files_cache import CachedFile

IN_FLIGHT_BYTES = 16 * 1024 * 1024  # a few of the largest chunks per thread
IN_FLIGHT_ITEMS = 64  # jobs: a batch of small files is one, so a few thousand files at most
READ_ATTEMPTS = 3
READ_PIECE_BYTES = 1024 * 1024  # the rest of a small file grown while it was read


def worker_count() -> int:
    """Return how many threads hash and compress: one per core this process may use."""
    return max(1, len(os.sched_getaffinity(0)))


@dataclass
class Blob:
    """A blob ready for the packs: its address and, when some destination lacks it, its
    compressed bytes (else its raw bytes, compressed later only if still needed).

    ``lacking`` names the destinations that lacked it when it was made: the others hold it.
    """

    address: str
    raw: bytes | memoryview | None
    compressed: bytes | None
    raw_length: int
    lacking: frozenset[str] = frozenset()


@dataclass
class FileRead:
    """One read of a file: its content, the metadata around the read, its blobs."""

    content: CachedFile
    size_bytes: int
    before: os.stat_result
    after: os.stat_result
    read_at: float
    blobs: list[Blob] = field(default_factory=list)
    attempts: int = 1
    # Grown past the size of one blob since it was listed: left unread, to be chunked.
    is_large: bool = False
    path: str | Path | None = None

    @property
    def is_torn(self) -> bool:
        """Return True when the file changed while it was read."""
        keys = ("st_size", "st_mtime_ns", "st_ctime_ns")
        moved = any(getattr(self.before, k) != getattr(self.after, k) for k in keys)
        return moved or self.size_bytes != self.after.st_size


class BlobMaker:
    """Turns bytes into blobs: addressed, and compressed when a destination lacks them.

    ``lacking`` (the destinations that lack each of some addresses, asked once for all of them)
    is asked from the worker threads; an answer made stale by a pack filling meanwhile costs at
    most a blob stored twice or a compression moved to the thread that fills the packs
    (``compressed_of``).
    """

    def __init__(
        self,
        key: AddressKey,
        level: int,
        lacking: Callable[[list[str]], list[frozenset[str]]],
        small_bytes: int,
    ) -> None:
        self.key = key
        self.level = level
        self.lacking = lacking
        self.small_bytes = small_bytes
        self.local = threading.local()  # a zstd context is not shared between threads

    def make(self, data: bytes | memoryview) -> Blob:
        """Return the blob of ``data``."""
        return self.make_many([data])[0]

    def make_many(
        self, pieces: Sequence[bytes | memoryview], addresses: list[str] | None = None
    ) -> list[Blob]:
        """Return the blobs of ``pieces`` (of ``addresses`` when known); the destinations are
        asked about them at once (one look-up per small file cost more than its hashing, the
        threads queueing on the index)."""
        if addresses is None:
            addresses = [self.key.address(data) for data in pieces]
        blobs = []
        for address, data, lacking in zip(addresses, pieces, self.lacking(addresses), strict=True):
            if lacking:
                compressed = self._compressor().compress(data)
                blobs.append(Blob(address, None, compressed, len(data), lacking))
            else:
                blobs.append(Blob(address, data, None, len(data)))
        return blobs

    def compressed_of(self, blob: Blob) -> bytes:
        """Return the blob's compressed bytes, compressing them now if the worker did not."""
        if blob.compressed is None:
            assert blob.raw is not None  # noqa: S101 - a blob holds one or the other
            blob.compressed = self._compressor().compress(blob.raw)
            blob.raw = None
        return blob.compressed

    def _compressor(self) -> zstandard.ZstdCompressor:
        compressor: zstandard.ZstdCompressor | None = getattr(self.local, "compressor", None)
        if compressor is None:
            compressor = self.local.compressor = zstandard.ZstdCompressor(level=self.level)
        return compressor

    def read_small(self, path: str | Path) -> tuple[FileRead, bytes]:
        """Read a file that is one blob, again when it changed meanwhile (a few times); return
        the read and its content (``add_blobs`` makes its blob)."""
        for attempt in range(1, READ_ATTEMPTS + 1):
            read, data = self._read_small_once(path)
            read.attempts = attempt
            if not read.is_torn:
                break
        return read, data

    def add_blobs(self, reads: list[FileRead], contents: list[bytes]) -> None:
        """Make the blobs of small files read (``read_small``), one look-up for all of them;
        unkeyed and under scheme 2 keys, a file is hashed once for its address and sha256."""
        hashed = [self.key.address_and_sha256(data) for data in contents]
        addresses = [address for address, _sha256 in hashed]
        blobs = self.make_many(contents, addresses)
        for read, (_address, sha256), blob in zip(reads, hashed, blobs, strict=True):
            read.content = CachedFile(sha256, [blob.address])
            read.blobs = [blob]

    def _read_small_once(self, path: str | Path) -> tuple[FileRead, bytes]:
        """Read a small file with as few system calls as can be: each one lets another thread
        take the GIL, and getting it back waits for that thread (most of a small file's time
        on a busy machine went there, four calls of nine in ``FileIO.readall``)."""
        read_at = time.time()
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            before = os.fstat(fd)
            empty = CachedFile("", [])
            if before.st_size >= self.small_bytes:
                return FileRead(empty, 0, before, before, read_at, is_large=True, path=path), b""
            # One byte more than its size: a file grown meanwhile is read to its end, and so is
            # one whose file system returned less than asked (a network or FUSE mount may).
            data = os.read(fd, before.st_size + 1)
            if len(data) != before.st_size:
                pieces = [data]
                while piece := os.read(fd, READ_PIECE_BYTES):
                    pieces.append(piece)
                data = b"".join(pieces)
            after = os.fstat(fd)
        finally:
            os.close(fd)
        return FileRead(empty, len(data), before, after, read_at), data


class OrderedWork:
    """Jobs run on a thread pool, their results taken back in submission order.

    ``take`` receives each result, in order, on the calling thread; the jobs in flight stay
    under ``IN_FLIGHT_BYTES`` (as the submitter weighs them) and ``IN_FLIGHT_ITEMS``.
    """

    def __init__(self, workers: int, take: Callable[[Any], None]) -> None:
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="backproof-filestore")
        self.take = take
        self.queue: deque[tuple[Future[Any], int]] = deque()
        self.weight = 0

    def submit(self, weight: int, job: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``job(*args)`` in the pool; wait for older jobs first when too much is in flight."""
        while self.queue and (
            self.weight + weight > IN_FLIGHT_BYTES or len(self.queue) >= IN_FLIGHT_ITEMS
        ):
            self._take_first()
        future = self.pool.submit(job, *args)
        self.queue.append((future, weight))
        self.weight += weight
        self.take_done()
        return future

    def take_done(self) -> None:
        """Take the results at the front that are ready, without waiting."""
        while self.queue and self.queue[0][0].done():
            self._take_first()

    def take_all(self) -> None:
        """Wait for every job and take its result."""
        while self.queue:
            self._take_first()

    def _take_first(self) -> None:
        future, weight = self.queue.popleft()
        self.weight -= weight
        self.take(future.result())

    def close(self) -> None:
        """Drop what is queued and wait for the threads (after a failure, nothing is taken)."""
        for future, _weight in self.queue:
            future.cancel()
        self.queue.clear()
        self.pool.shutdown(wait=True)
