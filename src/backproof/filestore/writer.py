"""Writing a target's files into the store: walk, skip what is unchanged, store new blobs.

The file list (the backup's ``files`` part) is pushed into the part's writer as the walk goes;
blobs go into packs per destination. Each destination gets a marker in ``.filestore/locks/``
before its index is read, removed once the manifest is committed, so a cleanup on any host
knows a backup may be referencing packs it has not committed yet.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import stat
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyfastcdc import FastCDC

from backproof.archive.manifest import FilesFacts
from backproof.archive.streams import Writer
from backproof.errors import BackproofError, SourceError, StorageError
from backproof.filestore.addressing import AddressKey, store_key
from backproof.filestore.blob_index import BlobIndex
from backproof.filestore.entries import FileEntry, ListHeader, encode_header
from backproof.filestore.files_cache import CachedFile, FilesCache
from backproof.filestore.layout import lock_key, refs_key
from backproof.filestore.listing import (
    Listing,
    Pending,
    SmallBatch,
    check_read_failure,
    read_batch,
)
from backproof.filestore.packs import UPLOADS_IN_FLIGHT, Packer
from backproof.filestore.pipeline import (
    READ_ATTEMPTS,
    Blob,
    BlobMaker,
    FileRead,
    OrderedWork,
    worker_count,
)
from backproof.filestore.sealing import PackSealers
from backproof.filestore.sides import Side
from backproof.sources.files import walk_tree
from backproof.storage.base import Storage

CHUNK_AVERAGE_BYTES = 1024 * 1024
CHUNK_MIN_BYTES = 256 * 1024
CHUNK_MAX_BYTES = 4 * 1024 * 1024
SMALL_FILE_BYTES = 2 * CHUNK_MIN_BYTES  # smaller files are one blob
DIGEST_AHEAD_CHUNKS = 8  # a large file's sha256 lags its reading by at most this many chunks
PREFIX_PIECE_BYTES = 1024 * 1024  # the kept start of a grown file is hashed in these pieces
# A large file is read in blocks of this size, its chunks cut from them (``_cut``).
READ_BLOCK_BYTES = 16 * 1024 * 1024


@dataclass
class StoreOptions:
    """How a backup writes to the store."""

    cache_dir: Path | None
    key: AddressKey
    recipients: list[Any]
    compression_level: int = 3
    reread_days: float = 30.0
    # The recipients' texts: with them (and a keyed store) packs are sealed by a worker
    # process, which is handed these over its socket (``sealing.py``).
    recipient_texts: list[str] = field(default_factory=list)


@dataclass
class FilesStoreSession:
    """One backup's writing into the files store of every live destination."""

    storages: dict[str, Storage]
    target: str
    backup_id: str
    options: StoreOptions
    sides: dict[str, Side] = field(default_factory=dict)
    failures: dict[str, BackproofError] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    files_read: int = 0
    files_unchanged: int = 0
    cache: FilesCache | None = None
    dropped: list[Side] = field(default_factory=list)
    # The folder whose unchanged files' blobs the destinations were last asked about at once.
    learnt_folder: str | None = None
    # Encrypts and uploads full packs while the next ones fill (made by ``open``: a few
    # uploads at once per destination).
    uploader: ThreadPoolExecutor | None = None
    # Seals full packs in worker processes when the store is encrypted (made by ``open``).
    sealers: PackSealers | None = None
    # Hashes a large file whole, in the order of its chunks, while they are cut.
    digester: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="backproof-digest")
    )

    def open(self) -> None:
        """Mark the backup on every destination, then learn what each holds.

        Raises the last StorageError when no destination can be opened.
        """
        options = self.options
        key = options.key
        self.uploader = ThreadPoolExecutor(
            UPLOADS_IN_FLIGHT * len(self.storages), thread_name_prefix="backproof-packs"
        )
        if key.is_keyed and options.recipient_texts:  # started on the first full pack
            self.sealers = PackSealers(options.recipient_texts)
        for name, storage in self.storages.items():
            try:
                self._open_side(name, storage)
            except StorageError as exc:
                self.failures[name] = exc
        if not self.sides:
            raise next(iter(self.failures.values()))
        cache_path = self._cache_path(f"files-{self.target}-{key.key_id}.sqlite")
        self.cache = FilesCache(cache_path, options.reread_days, time.time())
        self.chunker = FastCDC(
            CHUNK_AVERAGE_BYTES,
            min_size=CHUNK_MIN_BYTES,
            max_size=CHUNK_MAX_BYTES,
            seed=key.chunker_seed(),
        )
        self.maker = BlobMaker(key, options.compression_level, self._lacking, SMALL_FILE_BYTES)

    def _lacking(self, addresses: list[str]) -> list[frozenset[str]]:
        """Return the destinations lacking each blob (asked from the worker threads)."""
        sides = tuple(self.sides.items())
        held = [(name, side.holding(addresses)) for name, side in sides]
        return [frozenset(name for name, found in held if a not in found) for a in addresses]

    def _open_side(self, name: str, storage: Storage) -> None:
        lock = {"host": socket.gethostname(), "pid": os.getpid(), "target": self.target}
        storage.put_bytes(lock_key(self.backup_id), json.dumps(lock).encode())
        key = self.options.key
        store_key(storage, key, self.options.recipients)
        index = BlobIndex(self._cache_path(f"index-{name}-{key.key_id}.sqlite"), key)
        index.sync(storage)
        side = Side(
            storage,
            index,
            Packer(storage, self.backup_id, key, self.options.recipients, lambda pack, blobs: None),
        )
        side.packer.uploader = self.uploader
        side.packer.sealers = self.sealers
        side.packer.on_pack = side.on_pack
        self.sides[name] = side

    def _cache_path(self, name: str) -> Path | None:
        return self.options.cache_dir / name if self.options.cache_dir else None

    def write_list(
        self, paths: Sequence[Path], sink: Writer, exclude: Sequence[str] = ()
    ) -> FilesFacts:
        """Write the file list of ``paths`` into ``sink``, storing new blobs on the way;
        entries matching an ``exclude`` pattern are left out.

        Raises SourceError naming a path that is missing or cannot be read.
        """
        chunker = {"avg": CHUNK_AVERAGE_BYTES, "min": CHUNK_MIN_BYTES, "max": CHUNK_MAX_BYTES}
        sink.write(encode_header(ListHeader(self.options.key.key_id, chunker)))
        listing = Listing(sink, self._start_batch)
        self.work = work = OrderedWork(worker_count(), self._store_result)
        self.batch = SmallBatch()
        try:
            for root in paths:
                if not root.exists() and not root.is_symlink():
                    raise SourceError(f"{root} does not exist: check targets[].files")
                for path, name in walk_tree(root, exclude):
                    listing.add(self._entry(path, name))
                    # Both are no-ops while nothing is being read (most files of a second
                    # backup): asked only then, not once per file.
                    if work.queue:
                        work.take_done()
                    if listing.waiting:
                        listing.emit_ready(self._finish_read)
            self._start_batch(self.batch)
            self.work.take_all()
            listing.emit_ready(self._finish_read, keep=0)
            # A file grown past one blob since it was listed is chunked by the last lines: its
            # blobs go into the packs too.
            self.work.take_all()
        finally:
            self.work.close()
        self._flush_packs()
        return listing.tree.result()

    def _flush_packs(self) -> None:
        """Start uploading the packs left open, while the file list is committed."""
        for name, side in list(self.sides.items()):
            try:
                side.packer.flush()
            except StorageError as exc:
                self._drop(name, exc)

    def _entry(self, path: str, name: str) -> FileEntry | Pending | None:
        try:
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):  # asked first: most entries are files
                return self._file_entry(path, name, info)
            mode, mtime_ns = stat.S_IMODE(info.st_mode), info.st_mtime_ns
            if stat.S_ISDIR(info.st_mode):
                return FileEntry(name, "d", mode, mtime_ns)
            if stat.S_ISLNK(info.st_mode):
                return FileEntry(name, "l", mode, mtime_ns, link=os.readlink(path))  # noqa: PTH115 - exact
        except OSError as exc:
            check_read_failure(path, exc)
            return None
        self.warnings.append(f"{name}: a socket, FIFO or device file is not backed up")
        return None

    def _file_entry(self, path: str, name: str, info: os.stat_result) -> FileEntry | Pending:
        assert self.cache is not None  # noqa: S101 - open() made it
        cached = self.cache.lookup(name, info)
        if self.cache.folder != self.learnt_folder:
            self.learnt_folder = self.cache.folder
            addresses = self.cache.folder_addresses()
            for side in self.sides.values():
                side.learn(addresses)
        if cached is not None:
            for side in self.sides.values():
                if not side.take_all(cached.chunks):
                    break
            else:
                self.files_unchanged += 1
                # Its list of addresses is the cache's own copy, made for it: not copied again.
                return FileEntry(
                    name,
                    "f",
                    stat.S_IMODE(info.st_mode),
                    info.st_mtime_ns,
                    info.st_size,
                    cached.sha256,
                    cached.chunks,
                )
        if info.st_size < SMALL_FILE_BYTES:
            batch = self.batch
            pending = Pending(name, batch, batch.add(path, info.st_size))
            if batch.is_full:
                self._start_batch(batch)
            return pending
        return self._read_large(path, name, self.cache.grown(name, info))

    def _read_large(
        self, path: str | Path, name: str, prior: tuple[int, CachedFile] | None = None
    ) -> Pending:
        """Read a large file in chunks, again when it changed meanwhile (a few times);
        ``prior``: its size and content at its last read, when it may only have grown."""
        for _attempt in range(READ_ATTEMPTS):
            read, chunks = self._read_chunked(path, prior)
            if not read.is_torn:
                break
        return Pending(name, read, chunks=chunks)

    def _start_batch(self, batch: SmallBatch) -> None:
        """Start reading a batch of small files (a new one opens when it was the open one)."""
        if batch.future is None and batch.paths:
            batch.future = self.work.submit(batch.size_bytes, read_batch, self.maker, batch.paths)
        if batch is self.batch:
            self.batch = SmallBatch()

    def _finish_read(self, name: str, read: FileRead) -> FileEntry | None:
        """Record a read file in the cache (or warn that it moved); return its entry (None: it
        was deleted meanwhile)."""
        assert self.cache is not None  # noqa: S101 - open() made it
        if read.is_large and read.path is not None:  # grown since listed: chunked, not whole
            try:
                grown = self._read_large(read.path, name).result()
            except OSError as exc:
                check_read_failure(read.path, exc)
                return None
            assert grown is not None  # noqa: S101 - a large file's read is never None
            read = grown
        if read.is_torn:
            self.warnings.append(
                f"{name} changed while it was read ({READ_ATTEMPTS} tries): "
                "stored as last read, which may mix old and new content"
            )
        else:
            self.cache.record(name, read.after, read.content, read.read_at)
        self.files_read += 1
        return _file(name, read.after, read.content, read.size_bytes)

    def _read_chunked(
        self, path: str | Path, prior: tuple[int, CachedFile] | None = None
    ) -> tuple[FileRead, list[Future[Blob]]]:
        """Read a large file in content-defined chunks, each a blob made in the pool; the
        file's own sha256 runs on a thread of its own, in order, while this one cuts the next
        chunks (hashlib and the chunker release the GIL: the three run on every core). The
        chunks are views of blocks read with the GIL released (``_cut``), never copied.

        With ``prior`` (the file grown since its last read, by its metadata), its start is read
        and hashed first: when it is still that content, its chunks but the last are kept and
        the cutting starts at the last one (a chunk's cut depends on its bytes only, so the
        chunks are those a whole read would cut); else the file is read whole."""
        read_at = time.time()
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb", buffering=0) as stream:
            before = os.fstat(fd)
            digest, size_bytes, hashed = hashlib.sha256(), 0, 0
            futures: list[Future[Blob]] = []
            kept = self._kept_start(stream, digest, prior) if prior else None
            if kept is not None:
                futures, size_bytes, hashed = kept
            elif prior:
                stream.seek(0)
                digest = hashlib.sha256()
            hashing: deque[Future[None]] = deque()
            for piece in self._cut(fd, stream.tell()):
                futures.append(self.work.submit(len(piece), self.maker.make, piece))
                # The digest holds the kept start already: only what follows is added.
                if hashed <= size_bytes:
                    hashing.append(self.digester.submit(digest.update, piece))
                elif hashed < size_bytes + len(piece):
                    rest = piece[hashed - size_bytes :]
                    hashing.append(self.digester.submit(digest.update, rest))
                if len(hashing) > DIGEST_AHEAD_CHUNKS:  # its memory stays bounded
                    hashing.popleft().result()
                size_bytes += len(piece)
            after = os.fstat(fd)
        for update in hashing:
            update.result()
        if not futures:  # emptied since its size was read: one empty blob, as a small file
            futures.append(self.work.submit(0, self.maker.make, b""))
        content = CachedFile(digest.hexdigest(), [])  # its addresses once the jobs are done
        return FileRead(content, size_bytes, before, after, read_at), futures

    def _cut(self, fd: int, start: int) -> Iterator[memoryview]:
        """Yield the content-defined chunks of the file ``fd`` from ``start``: those
        ``FastCDC.cut_stream`` cuts, each a view of a block read by ``preadv``.

        ``cut_stream`` copied every chunk twice holding the GIL (its buffer moved down, then
        ``bytes`` of the chunk, each page of it faulted in), about a quarter of a backup's
        time with the GIL on a 2 GB folder, whose threads wait for it. Here the pages are
        faulted in by the read, the GIL released, and a chunk is a view of its block (a new
        block each time: the pool's jobs hold the views). A cut depends on the next
        ``CHUNK_MAX_BYTES`` only, or on what is left at the file's end: a chunk is taken when
        its block holds that much after its start, or holds the file's end; else the next
        block is read from its start."""
        offset = start
        while True:
            block = memoryview(bytearray(READ_BLOCK_BYTES))
            filled = 0
            while filled < READ_BLOCK_BYTES:
                count = os.preadv(fd, [block[filled:]], offset + filled)
                if not count:
                    break
                filled += count
            is_end = filled < READ_BLOCK_BYTES
            taken = 0
            for chunk in self.chunker.cut_buf(block[:filled]):
                if not is_end and filled - chunk.offset < CHUNK_MAX_BYTES:
                    break
                yield chunk.data
                taken = chunk.offset + chunk.length
            if is_end:
                return
            offset += taken

    def _kept_start(
        self, stream: io.FileIO, digest: Any, prior: tuple[int, CachedFile]
    ) -> tuple[list[Future[Blob]], int, int] | None:
        """Read the first ``prior`` size of bytes into ``digest``; when their sha256 is the
        prior content's and every destination holds its chunks, return the chunks kept (all but
        the last, as done jobs), where the cutting starts again (the stream is put there) and
        how many bytes the digest holds. None when the start changed or a chunk is lacking
        (the digest and the stream are then the caller's to reset)."""
        size, content = prior
        lengths = self._chunk_lengths(content.chunks)
        if lengths is None or sum(lengths) != size:
            return None
        buffer = bytearray(PREFIX_PIECE_BYTES)
        view = memoryview(buffer)
        left = size
        while left:
            count = stream.readinto(view[: min(left, PREFIX_PIECE_BYTES)])
            if not count:
                return None  # shorter than it was: read whole
            digest.update(view[:count])
            left -= count
        kept = content.chunks[:-1]
        if digest.hexdigest() != content.sha256:
            return None
        for side in self.sides.values():
            if not side.take_all(kept):
                return None
        start = size - lengths[-1]
        stream.seek(start)
        futures: list[Future[Blob]] = []
        for address, length in zip(kept, lengths, strict=False):
            done: Future[Blob] = Future()
            done.set_result(Blob(address, None, None, length))
            futures.append(done)
        return futures, start, size

    def _chunk_lengths(self, addresses: list[str]) -> list[int] | None:
        """Return the length of each blob of ``addresses`` (by a destination's index); None
        when one is not found."""
        side = next(iter(self.sides.values()))
        found = side.index.locate_many(addresses)
        if any(address not in found for address in addresses):
            return None
        return [found[address][0][1].raw_length for address in addresses]

    def _store_result(self, result: Blob | list[FileRead | None]) -> None:
        """Put the blobs of a finished job in the packs of every destination lacking them."""
        if isinstance(result, Blob):
            self._store_blob(result)
            return
        for read in result:
            for blob in read.blobs if read else []:
                self._store_blob(blob)

    def _store_blob(self, blob: Blob) -> None:
        for name, side in list(self.sides.items()):
            # What lacked the blob a moment ago gained it only through its open packs.
            if name in blob.lacking:
                if side.packer.holds(blob.address):
                    continue
            elif side.take(blob.address):
                continue
            try:
                side.packer.add(blob.address, self.maker.compressed_of(blob), blob.raw_length)
            except StorageError as exc:
                self._drop(name, exc)
        # Its entry may wait a while yet (the rest of a large file): only the address is kept.
        blob.raw = blob.compressed = None

    def _drop(self, name: str, error: StorageError) -> None:
        self.failures[name] = error
        # Closed at the end: a worker thread may be asking its index at this very moment.
        self.dropped.append(self.sides.pop(name))
        if not self.sides:
            raise error

    def finish(self, live: Sequence[str]) -> None:
        """Upload the open packs, then the refs of the backup, on every ``live`` destination."""
        for name in list(self.sides):
            if name not in live:
                self.dropped.append(self.sides.pop(name))
                continue
            side = self.sides[name]
            try:
                side.packer.flush()
                side.packer.wait()
                refs = json.dumps(sorted(side.referenced)).encode()
                side.storage.put_bytes(refs_key(self.target, self.backup_id), refs)
            except StorageError as exc:
                self._drop(name, exc)

    def close(self, *, completed: bool) -> None:
        """Remove the markers and close the local indexes (keeping what was learnt when the
        backup ``completed``)."""
        if self.uploader is not None:  # a pack being uploaded lands before its marker goes
            self.uploader.shutdown(wait=True)
        if self.sealers is not None:
            self.sealers.close()
        self.digester.shutdown(wait=True)
        for storage in self.storages.values():
            try:
                storage.delete_objects([lock_key(self.backup_id)])
            except BackproofError:
                continue  # a stale marker only delays collection until it is old
        for side in [*self.sides.values(), *self.dropped]:
            side.index.close()
        if self.cache is not None:
            self.cache.close(completed=completed)

    @property
    def stored_bytes(self) -> int:
        """Return the bytes of packs written, summed over destinations."""
        return sum(side.packer.stored_bytes for side in self.sides.values())


def _file(name: str, info: os.stat_result, content: CachedFile, size_bytes: int) -> FileEntry:
    mode = stat.S_IMODE(info.st_mode)
    return FileEntry(
        name, "f", mode, info.st_mtime_ns, size_bytes, content.sha256, list(content.chunks)
    )
