"""Writing a target's files into the store: walk, skip what is unchanged, store new blobs.

The file list (the backup's ``files`` part) is pushed into the part's writer as the walk goes;
blobs go into packs per destination. Each destination gets a marker in ``.filestore/locks/``
before its index is read, removed once the manifest is committed, so a cleanup on any host
knows a backup may be referencing packs it has not committed yet.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard
from pyfastcdc import FastCDC

from backproof.archive.manifest import FilesFacts
from backproof.archive.streams import Writer
from backproof.errors import BackproofError, SourceError, StorageError
from backproof.filestore.addressing import AddressKey, store_key
from backproof.filestore.blob_index import BlobIndex
from backproof.filestore.entries import FileEntry, ListHeader, encode_entry, encode_header
from backproof.filestore.files_cache import CachedFile, FilesCache
from backproof.filestore.layout import lock_key, refs_key
from backproof.filestore.packs import Packer
from backproof.filestore.sides import Side
from backproof.sources.files import TreeDigest, walk_tree
from backproof.storage.base import Storage

CHUNK_AVERAGE_BYTES = 1024 * 1024
CHUNK_MIN_BYTES = 256 * 1024
CHUNK_MAX_BYTES = 4 * 1024 * 1024
READ_ATTEMPTS = 3
SMALL_FILE_BYTES = 2 * CHUNK_MIN_BYTES  # smaller files are one blob


@dataclass
class StoreOptions:
    """How a backup writes to the store."""

    cache_dir: Path | None
    key: AddressKey
    recipients: list[Any]
    compression_level: int = 3
    reread_days: float = 30.0


@dataclass
class _Read:
    """One read of a file."""

    content: CachedFile
    size_bytes: int
    before: os.stat_result
    after: os.stat_result
    read_at: float

    @property
    def is_torn(self) -> bool:
        """Return True when the file changed while it was read."""
        keys = ("st_size", "st_mtime_ns", "st_ctime_ns")
        moved = any(getattr(self.before, k) != getattr(self.after, k) for k in keys)
        return moved or self.size_bytes != self.after.st_size


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

    def open(self) -> None:
        """Mark the backup on every destination, then learn what each holds.

        Raises the last StorageError when no destination can be opened.
        """
        options = self.options
        key = options.key
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
        self.compressor = zstandard.ZstdCompressor(level=options.compression_level)

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
        tree = TreeDigest()
        for root in paths:
            if not root.exists() and not root.is_symlink():
                raise SourceError(f"{root} does not exist: check targets[].files")
            for path, name in walk_tree(root, exclude):
                entry = self._entry(path, name)
                if entry is not None:
                    sink.write(encode_entry(entry))
                    tree.add_entry(entry.kind, entry.path, entry.size, entry.content)
        return tree.result()

    def _entry(self, path: Path, name: str) -> FileEntry | None:
        try:
            info = os.lstat(path)
            mode, mtime_ns = stat.S_IMODE(info.st_mode), info.st_mtime_ns
            if stat.S_ISDIR(info.st_mode):
                return FileEntry(name, "d", mode, mtime_ns)
            if stat.S_ISLNK(info.st_mode):
                return FileEntry(name, "l", mode, mtime_ns, link=os.readlink(path))  # noqa: PTH115 - exact
            if stat.S_ISREG(info.st_mode):
                return self._file_entry(path, name, info)
        except FileNotFoundError:
            return None  # deleted since its folder was listed, as GNU tar would skip it
        except PermissionError as exc:
            raise SourceError(
                f"cannot read {path}: permission denied; let the backup user read it "
                "or remove it from targets[].files"
            ) from exc
        except OSError as exc:
            raise SourceError(f"cannot store {path}: {exc.strerror or exc}") from exc
        self.warnings.append(f"{name}: a socket, FIFO or device file is not backed up")
        return None

    def _file_entry(self, path: Path, name: str, info: os.stat_result) -> FileEntry:
        assert self.cache is not None  # noqa: S101 - open() made it
        cached = self.cache.lookup(name, info)
        if cached is not None and self._take_all(cached.chunks):
            self.files_unchanged += 1
            return _file(name, info, cached, info.st_size)
        for _attempt in range(READ_ATTEMPTS):
            read = self._read(path)
            if not read.is_torn:
                self.cache.record(name, read.after, read.content, read.read_at)
                break
        else:
            self.warnings.append(
                f"{name} changed while it was read ({READ_ATTEMPTS} tries): "
                "stored as last read, which may mix old and new content"
            )
        self.files_read += 1
        return _file(name, read.after, read.content, read.size_bytes)

    def _take_all(self, addresses: list[str]) -> bool:
        return all(side.take(address) for side in self.sides.values() for address in addresses)

    def _read(self, path: Path) -> _Read:
        read_at = time.time()
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb", buffering=0) as stream:
            before = os.fstat(fd)
            if before.st_size < SMALL_FILE_BYTES:
                sha256, addresses, size_bytes = self._read_small(stream)
            else:
                sha256, addresses, size_bytes = self._read_chunked(stream)
            after = os.fstat(fd)
        return _Read(CachedFile(sha256, addresses), size_bytes, before, after, read_at)

    def _read_small(self, stream: Any) -> tuple[str, list[str], int]:
        """Read a file that is one blob; unkeyed, its address is its sha256 (hashed once)."""
        data = stream.readall()
        address = self._store(data)
        sha256 = hashlib.sha256(data).hexdigest() if self.options.key.is_keyed else address
        return sha256, [address], len(data)

    def _read_chunked(self, stream: Any) -> tuple[str, list[str], int]:
        """Read a large file in content-defined chunks, each a blob."""
        digest = hashlib.sha256()
        addresses: list[str] = []
        size_bytes = 0
        for chunk in self.chunker.cut_stream(stream):
            piece = bytes(chunk.data)
            digest.update(piece)
            size_bytes += len(piece)
            addresses.append(self._store(piece))
        if not addresses:  # emptied since its size was read: one empty blob, as a small file
            return self._read_small(stream)
        return digest.hexdigest(), addresses, size_bytes

    def _store(self, data: bytes) -> str:
        address = self.options.key.address(data)
        compressed: bytes | None = None
        for name, side in list(self.sides.items()):
            if side.take(address):
                continue
            compressed = compressed or self.compressor.compress(data)
            try:
                side.packer.add(address, compressed, len(data))
            except StorageError as exc:
                self._drop(name, exc)
        return address

    def _drop(self, name: str, error: StorageError) -> None:
        self.failures[name] = error
        self.sides.pop(name).index.close()
        if not self.sides:
            raise error

    def finish(self, live: Sequence[str]) -> None:
        """Upload the open packs, then the refs of the backup, on every ``live`` destination."""
        for name in list(self.sides):
            if name not in live:
                self.sides.pop(name).index.close()
                continue
            side = self.sides[name]
            try:
                side.packer.flush()
                refs = json.dumps(sorted(side.referenced)).encode()
                side.storage.put_bytes(refs_key(self.target, self.backup_id), refs)
            except StorageError as exc:
                self._drop(name, exc)

    def close(self, *, completed: bool) -> None:
        """Remove the markers and close the local indexes (keeping what was learnt when the
        backup ``completed``)."""
        for storage in self.storages.values():
            try:
                storage.delete_objects([lock_key(self.backup_id)])
            except BackproofError:
                continue  # a stale marker only delays collection until it is old
        for side in self.sides.values():
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
