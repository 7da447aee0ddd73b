"""Writing one part to every live destination in one pass, and reading it back checked."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from backproof.archive.manifest import Part
from backproof.archive.streams import (
    EXTENSIONS,
    Encryptor,
    FanoutWriter,
    PartWriter,
    Precompressed,
    Writer,
    hash_stream,
)
from backproof.errors import BackproofError, IntegrityError, StorageError
from backproof.storage.base import Storage, Upload

T = TypeVar("T")


@dataclass
class PartOutcome:
    """What writing a part produced."""

    sha256: str
    size_bytes: int
    raw_size_bytes: int
    failures: dict[str, BackproofError]


class ProgressWriter:
    """Counts raw bytes into a progress callback."""

    def __init__(self, inner: Writer, report: Callable[[int], None]) -> None:
        self.inner = inner
        self.report = report

    def write(self, data: bytes, /) -> int:
        """Pass ``data`` on and report its size."""
        self.inner.write(data)
        self.report(len(data))
        return len(data)


def part_file_name(name: str, extension: str, compression: str, encrypted: bool) -> str:
    """Return the file name of a part: ``db.sqlite.zst``, ``files.tar.gz.age``."""
    suffix = ".age" if encrypted else ""
    return f"{name}.{extension}.{EXTENSIONS[compression]}{suffix}"


def write_part(
    storages: dict[str, Storage],
    key: str,
    produce: Callable[[Writer], T],
    *,
    compression: str,
    level: int | None,
    encryptor: Encryptor | None,
    on_progress: Callable[[int], None],
    is_threaded: bool = True,
    precompressed: Precompressed | None = None,
) -> tuple[T, PartOutcome]:
    """Stream what ``produce`` writes to ``key`` on every destination; commit the uploads.
    ``is_threaded`` False compresses on one thread, in constant memory (a file list).
    ``precompressed``: the bytes were compressed as they were produced (``PartWriter``).

    Destinations that fail are dropped and reported in ``PartOutcome.failures``; when every
    destination fails, or ``produce`` raises, every upload is aborted and the error raised.
    """
    uploads: dict[str, Upload] = {}
    failures: dict[str, BackproofError] = {}
    writer: PartWriter | None = None
    try:
        # Opened inside the try: an interrupt between two opens still aborts the first.
        for name, storage in storages.items():
            try:
                uploads[name] = storage.open_upload(key)
            except StorageError as exc:
                failures[name] = exc
        if not uploads:
            raise next(iter(failures.values()))
        fanout = FanoutWriter(uploads)
        writer = PartWriter(compression, fanout, level, encryptor, is_threaded, precompressed)
        if precompressed is not None:
            on_progress(precompressed.raw_size_bytes)
        result = produce(ProgressWriter(writer, on_progress))
        writer.finish()
    except BaseException:
        if writer is not None:
            writer.abort()
        for upload in uploads.values():  # aborting twice is harmless (Upload.abort)
            upload.abort()
        raise
    failures.update(writer.fanout.failures)
    outcome = PartOutcome(
        writer.hasher.sha256, writer.hasher.size_bytes, writer.raw_size_bytes, failures
    )
    return result, outcome


def check_part(storage: Storage, key: str, part: Part) -> None:
    """Read a stored part whole and compare its size and sha256 with the manifest.

    Raises IntegrityError naming the part and what differs.
    """
    with contextlib.closing(storage.open_download(key)) as stream:
        sha256, size_bytes = hash_stream(stream)
    where = f"part {part.name} ({part.file}) on {storage.name}"
    if size_bytes != part.size_bytes:
        raise IntegrityError(
            f"{where} is {size_bytes} bytes, the manifest says {part.size_bytes}: "
            "truncated or replaced"
        )
    if sha256 != part.sha256:
        raise IntegrityError(
            f"{where} does not match its checksum (sha256 {sha256[:12]}…, manifest "
            f"{part.sha256[:12]}…): the stored data is corrupt or was altered"
        )
