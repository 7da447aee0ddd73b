"""Streams of parts: compression, checksums and fan-out to several destinations, in one pass.

Writers are push-style (``write(bytes)``, ``close()``): the dump is written into a
``PartWriter`` which compresses, optionally encrypts, hashes the stored bytes and hands them to
every destination's upload. Memory stays flat: nothing buffers more than one chunk.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, BinaryIO, Protocol, cast

import zstandard

from backproof.errors import BackproofError, StorageError
from backproof.storage.base import CHUNK_BYTES, Upload

ZSTD_DEFAULT_LEVEL = 3
GZIP_DEFAULT_LEVEL = 6
EXTENSIONS = {"zstd": "zst", "gzip": "gz"}


class Writer(Protocol):
    """Something bytes are pushed into."""

    def write(self, data: bytes, /) -> int:
        """Take ``data``."""
        ...


class FanoutWriter:
    """Writes to every destination's upload; a destination that fails is dropped and recorded.

    Raises the last destination's error once none is left, so one bad mirror never loses the
    backup on the others.
    """

    def __init__(self, uploads: dict[str, Upload]) -> None:
        self.uploads = dict(uploads)
        self.failures: dict[str, BackproofError] = {}

    def write(self, data: bytes, /) -> int:
        """Write ``data`` to every live upload."""
        for name, upload in list(self.uploads.items()):
            try:
                upload.write(data)
            except StorageError as exc:
                self._drop(name, exc)
        return len(data)

    def commit(self) -> dict[str, int]:
        """Commit every live upload; return the stored size per destination."""
        sizes: dict[str, int] = {}
        for name, upload in list(self.uploads.items()):
            try:
                sizes[name] = upload.commit().size_bytes
            except StorageError as exc:
                self._drop(name, exc)
        return sizes

    def abort(self) -> None:
        """Abort every live upload."""
        for upload in self.uploads.values():
            upload.abort()
        self.uploads.clear()

    def _drop(self, name: str, error: StorageError) -> None:
        self.failures[name] = error
        self.uploads.pop(name).abort()
        if not self.uploads:
            raise error


class HashingWriter:
    """Counts and hashes the bytes that pass on to ``inner``."""

    def __init__(self, inner: Writer) -> None:
        self.inner = inner
        self.digest = hashlib.sha256()
        self.size_bytes = 0

    def write(self, data: bytes, /) -> int:
        """Hash, count and pass on ``data``."""
        self.digest.update(data)
        self.size_bytes += len(data)
        self.inner.write(data)
        return len(data)

    @property
    def sha256(self) -> str:
        """Return the hex digest of what passed so far."""
        return self.digest.hexdigest()


@dataclass
class StreamStage:
    """A writer that must be closed to flush its tail into the next stage."""

    write: Callable[[bytes], int]
    close: Callable[[], None]
    abort: Callable[[], None] | None = None
    """Stops a stage that runs a thread (encryption) without flushing; None: nothing to stop."""


def open_compressor(
    kind: str, level: int | None, sink: Writer, *, is_threaded: bool = True
) -> StreamStage:
    """Return a stage that compresses into ``sink`` with zstd (multi-threaded unless not
    ``is_threaded``: its buffers grow to tens of MB on a long stream) or gzip."""
    if kind == "zstd":
        threads = -1 if is_threaded else 0
        compressor = zstandard.ZstdCompressor(level=level or ZSTD_DEFAULT_LEVEL, threads=threads)
        # zstandard and gzip only call write() on the sink; their stubs ask for a whole file.
        target = cast(IO[bytes], sink)
        stream = compressor.stream_writer(target, closefd=False, write_size=CHUNK_BYTES)
        return StreamStage(stream.write, stream.close)
    if kind == "gzip":
        gzip_stream = gzip.GzipFile(
            fileobj=cast(IO[bytes], sink),
            mode="wb",
            compresslevel=level or GZIP_DEFAULT_LEVEL,
            mtime=0,
        )
        return StreamStage(gzip_stream.write, gzip_stream.close)
    raise ValueError(f"unknown compression {kind!r}")


def open_decompressor(kind: str, source: BinaryIO) -> BinaryIO:
    """Return a readable stream of ``source`` decompressed."""
    if kind == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(
            source, read_size=CHUNK_BYTES, read_across_frames=True, closefd=False
        )
        return cast(BinaryIO, reader)
    if kind == "gzip":
        return cast(BinaryIO, gzip.GzipFile(fileobj=source, mode="rb"))
    raise ValueError(f"unknown compression {kind!r}")


Encryptor = Callable[[Writer], StreamStage]


class Precompressed(Protocol):
    """A part's bytes compressed as they were produced, before the part was opened (the dump
    of ``jobs.early_dump``), with the part's own compression and level."""

    @property
    def raw_size_bytes(self) -> int:
        """The bytes compressed so far."""

    def compressor_into(self, sink: Writer) -> StreamStage:
        """Send what was compressed, and what will be, into ``sink``; return the compressor's
        stage (closed once the producer is done)."""


@dataclass
class PartWriter:
    """raw bytes -> compress -> [encrypt] -> sha256 -> every destination.

    With ``precompressed`` the bytes arrive compressed by it: ``write`` then only counts them.
    """

    compression: str
    fanout: FanoutWriter
    level: int | None = None
    encryptor: Encryptor | None = None
    is_threaded: bool = True
    precompressed: Precompressed | None = None
    raw_size_bytes: int = 0
    hasher: HashingWriter = field(init=False)
    stages: list[StreamStage] = field(init=False)

    def __post_init__(self) -> None:
        self.hasher = HashingWriter(self.fanout)
        encrypted = self.encryptor(self.hasher) if self.encryptor else None
        sink = encrypted_writer(encrypted) or self.hasher
        if self.precompressed is not None:
            compressed = self.precompressed.compressor_into(sink)
        else:
            compressed = open_compressor(
                self.compression, self.level, sink, is_threaded=self.is_threaded
            )
        self.stages = [compressed] + ([encrypted] if encrypted else [])

    def write(self, data: bytes, /) -> int:
        """Take raw bytes of the part."""
        self.raw_size_bytes += len(data)
        if self.precompressed is None:
            self.stages[0].write(data)
        return len(data)

    def finish(self) -> dict[str, int]:
        """Flush every stage and commit the uploads; return the size stored per destination."""
        for stage in self.stages:
            stage.close()
        if self.precompressed is not None:  # with what was compressed before the part opened
            self.raw_size_bytes = self.precompressed.raw_size_bytes
        return self.fanout.commit()

    def abort(self) -> None:
        """Stop the stages that run threads, then drop the uploads."""
        for stage in self.stages:
            if stage.abort is not None:
                stage.abort()
        self.fanout.abort()


class _StageWriter:
    def __init__(self, stage: StreamStage) -> None:
        self.stage = stage

    def write(self, data: bytes, /) -> int:
        return self.stage.write(data)


def encrypted_writer(stage: StreamStage | None) -> Writer | None:
    """Adapt a stage to the Writer protocol (None passes through)."""
    return None if stage is None else _StageWriter(stage)


def hash_stream(source: BinaryIO) -> tuple[str, int]:
    """Return the sha256 and size of everything ``source`` yields."""
    digest = hashlib.sha256()
    size_bytes = 0
    while chunk := source.read(CHUNK_BYTES):
        digest.update(chunk)
        size_bytes += len(chunk)
    return digest.hexdigest(), size_bytes
