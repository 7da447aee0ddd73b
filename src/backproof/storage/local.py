"""A destination on a local (or mounted) filesystem: ``file:///var/backproof/backups``."""

from __future__ import annotations

import errno
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import BinaryIO, cast

from backproof.errors import NotFoundError, StorageError, StorageFullError
from backproof.privacy import make_private_dir, open_private_file
from backproof.storage.base import StoredObject

PARTIAL_SUFFIX = ".partial"
# The most one write(2) hands the kernel. On this project's VMs a 16 MiB pack written in one
# call made the kernel's copy into the page cache cost 5-8 s of system CPU per GB (14 of 14 first
# backups of the 2 GB files benchmark, 2026-12-01); in 64 KiB calls 0.8 s in 5 of 9 runs, the
# others as slow: see docs/performance.md, "The page cache's copy on this VM".
WRITE_PIECE_BYTES = 64 * 1024
# Every this many bytes written, the kernel is asked to start writing them to the disk
# (``sync_file_range``'s SYNC_FILE_RANGE_WRITE: it does not wait, as PostgreSQL's flush-after),
# so that the fsync at commit waits for the last few MiB instead of the whole file.
FLUSH_AFTER_BYTES = 8 * 1024 * 1024
PAGE_BYTES = 4096


def translate_os_error(exc: OSError, what: str) -> StorageError:
    """Turn an OSError into a StorageError that says what failed; out of space is its own kind."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFullError(f"{what}: no space left on the device")
    return StorageError(f"{what}: {exc.strerror or exc}")


class LocalUpload:
    """Writes ``<key>.<random>.partial``, fsyncs, then renames onto the key."""

    def __init__(self, path: Path, root: Path | None = None) -> None:
        self.path = path
        self.root = root
        self.partial = path.with_name(f"{path.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
        make_private_dir(path.parent)
        self.descriptor: int | None = open_private_file(self.partial)
        self.size_bytes = 0
        self.flushed_bytes = 0

    def write(self, data: bytes) -> int:
        """Append ``data`` to the partial file."""
        if self.descriptor is None:
            raise StorageError(f"write to {self.path} after commit or abort")
        view = memoryview(data)
        try:
            while view:
                written = os.write(self.descriptor, view[:WRITE_PIECE_BYTES])
                view = view[written:]
        except OSError as exc:
            raise translate_os_error(exc, f"writing {self.path}") from exc
        self.size_bytes += len(data)
        if self.size_bytes - self.flushed_bytes >= FLUSH_AFTER_BYTES:
            # Whole pages only: the last one is written again by the next write.
            end = self.size_bytes - self.size_bytes % PAGE_BYTES
            start_writeback(self.descriptor, self.flushed_bytes, end - self.flushed_bytes)
            self.flushed_bytes = end
        return len(data)

    def commit(self) -> StoredObject:
        """Flush to disk and rename the partial file onto its key."""
        if self.descriptor is None:
            raise StorageError(f"commit of {self.path} after commit or abort")
        try:
            os.fsync(self.descriptor)
            os.close(self.descriptor)
            self.descriptor = None
            self.partial.replace(self.path)
            _fsync_dir(self.path.parent)
        except OSError as exc:
            self.abort()
            raise translate_os_error(exc, f"committing {self.path}") from exc
        key = self.path.relative_to(self.root).as_posix() if self.root else str(self.path)
        return StoredObject(key, self.size_bytes)

    def abort(self) -> None:
        """Close and delete the partial file."""
        if self.descriptor is not None:
            os.close(self.descriptor)
            self.descriptor = None
        self.partial.unlink(missing_ok=True)
        # A failed backup leaves no empty folder behind, which would otherwise pile up.
        if self.root is not None:
            _remove_empty_parents(self.partial.parent, self.root)


@cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    if sys.platform != "linux":
        return None
    import ctypes  # noqa: PLC0415 - Linux only, on the first large file

    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return cast(Callable[[int, int, int, int], int], function)


def start_writeback(descriptor: int, offset: int, size_bytes: int) -> None:
    """Ask Linux to start writing a range of a file to its disk, without waiting; elsewhere,
    or where it is refused, nothing happens (the fsync at commit writes it all)."""
    function = _sync_file_range()
    if function is not None:
        function(descriptor, offset, size_bytes, _SYNC_FILE_RANGE_WRITE)


_SYNC_FILE_RANGE_WRITE = 2


class LocalStorage:
    """Backups in a folder; everything private (0700 folders, 0600 files)."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.root = root

    def describe(self) -> str:
        """Return the folder."""
        return f"file://{self.root}"

    def open_upload(self, key: str) -> LocalUpload:
        """Start writing ``key``."""
        try:
            return LocalUpload(self._path(key), self.root)
        except OSError as exc:
            raise translate_os_error(exc, f"creating {self._path(key)}") from exc

    def open_download(self, key: str) -> BinaryIO:
        """Open ``key`` for reading."""
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise NotFoundError(f"{self.name}: {key} does not exist") from exc
        except OSError as exc:
            raise translate_os_error(exc, f"reading {self._path(key)}") from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write a small object atomically."""
        upload = self.open_upload(key)
        try:
            upload.write(data)
        except BaseException:
            upload.abort()
            raise
        upload.commit()

    def get_bytes(self, key: str) -> bytes:
        """Read a small object."""
        with self.open_download(key) as stream:
            return stream.read()

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        """List committed files under ``prefix`` (partial files are not objects)."""
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return
        for folder, _subfolders, names in os.walk(base):
            for name in sorted(names):
                if name.endswith(PARTIAL_SUFFIX):
                    continue
                path = Path(folder) / name
                try:
                    status = path.stat()
                except FileNotFoundError:
                    continue  # deleted meanwhile by a cleanup: listing goes on without it
                modified_at = datetime.fromtimestamp(status.st_mtime, UTC)
                key = path.relative_to(self.root).as_posix()
                yield StoredObject(key, status.st_size, modified_at)

    def delete_objects(self, keys: list[str]) -> None:
        """Delete files, then the folders they leave empty."""
        for key in keys:
            path = self._path(key)
            try:
                path.unlink(missing_ok=True)
                _remove_empty_parents(path.parent, self.root)
            except OSError as exc:
                raise translate_os_error(exc, f"deleting {path}") from exc

    def sweep_incomplete(self, prefix: str, is_abandoned: Callable[[str], bool]) -> list[str]:
        """Delete abandoned ``.partial`` files under ``prefix`` left by crashed runs."""
        base = self._path(prefix) if prefix else self.root
        removed: list[str] = []
        for path in sorted(base.rglob(f"*{PARTIAL_SUFFIX}")) if base.is_dir() else []:
            key = path.relative_to(self.root).as_posix()
            if is_abandoned(key):
                path.unlink(missing_ok=True)
                removed.append(key)
                _remove_empty_parents(path.parent, self.root)
        return removed

    def local_path(self, key: str) -> Path:
        """Return the file of ``key`` (for a process of ours that reads it itself)."""
        return self._path(key)

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise StorageError(f"refusing a key outside the destination: {key!r}")
        return self.root / key


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
