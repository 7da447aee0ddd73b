"""The storage interface: where parts and manifests are kept.

Keys are relative to the destination's root and use ``/``:
``<target>/<backup-id>/{manifest.json, db.<ext>, files.tar.<ext>}``. A backend stores bytes and
lists keys; what a backup is (a folder with a committed manifest) is decided in
``backproof.archive.catalog``, the same for every backend.

An upload is invisible under its key until ``commit()`` returns: a crash or ``abort()`` leaves
nothing, or debris that is not a committed object (a ``.partial`` file, an incomplete multipart
upload) which the backend's ``sweep_incomplete`` removes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

# The unit in which backups stream to and from destinations (and through compression).
CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    """A committed object.

    ``modified_at`` is the storage's own time of the last write (S3 ``LastModified``, a file's
    mtime): set by the storage, not by the clock of the host that wrote the object, so a backup
    made with a wrong clock cannot fake it (issue 9). None where a backend does not know it.
    """

    key: str
    size_bytes: int
    modified_at: datetime | None = None


class Upload(Protocol):
    """A stream being written to one key."""

    def write(self, data: bytes) -> int:
        """Append ``data``; raise StorageError (StorageFullError when out of space)."""
        ...

    def commit(self) -> StoredObject:
        """Make the object visible under its key and return it."""
        ...

    def abort(self) -> None:
        """Drop everything written so far; never raises for an upload already gone."""
        ...


class Storage(Protocol):
    """One destination."""

    name: str

    def describe(self) -> str:
        """Return where this destination is, without secrets (for messages and reports)."""
        ...

    def open_upload(self, key: str) -> Upload:
        """Start writing ``key``."""
        ...

    def open_download(self, key: str) -> BinaryIO:
        """Return a readable stream of ``key``; NotFoundError when it does not exist."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write a small object atomically (the manifest)."""
        ...

    def get_bytes(self, key: str) -> bytes:
        """Read a small object; NotFoundError when it does not exist."""
        ...

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        """List committed objects whose keys start with ``prefix``."""
        ...

    def delete_objects(self, keys: list[str]) -> None:
        """Delete ``keys``; keys already gone are not an error."""
        ...

    def sweep_incomplete(self, prefix: str, is_abandoned: Callable[[str], bool]) -> list[str]:
        """Remove uncommitted uploads under ``prefix`` whose key ``is_abandoned``; return the keys.

        The caller decides what is abandoned (from the backup id in the key, never from file
        times), so an upload still being written by a live run is never swept.
        """
        ...
