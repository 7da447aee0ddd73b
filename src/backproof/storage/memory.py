"""An in-memory destination: the twin of the real backends for unit tests of the jobs."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import BinaryIO

from backproof.clock import utc_now
from backproof.errors import NotFoundError, StorageError, StorageFullError
from backproof.storage.base import StoredObject


class MemoryUpload:
    """Buffers writes; the object appears on commit."""

    def __init__(self, storage: MemoryStorage, key: str) -> None:
        self.storage = storage
        self.key = key
        self.buffer = bytearray()
        self.open = True
        storage.incomplete.add(key)

    def write(self, data: bytes) -> int:
        """Append ``data``; fail like a full disk past ``capacity_bytes``."""
        if not self.open:
            raise StorageError(f"write to {self.key} after commit or abort")
        if self.storage.used_bytes() + len(self.buffer) + len(data) > self.storage.capacity_bytes:
            raise StorageFullError(f"writing {self.key}: no space left on the device")
        self.buffer.extend(data)
        return len(data)

    def commit(self) -> StoredObject:
        """Publish the object."""
        self.open = False
        self.storage.objects[self.key] = bytes(self.buffer)
        self.storage.modified[self.key] = self.storage.clock()
        self.storage.incomplete.discard(self.key)
        return StoredObject(self.key, len(self.buffer))

    def abort(self) -> None:
        """Forget what was written."""
        self.open = False
        self.storage.incomplete.discard(self.key)


class MemoryStorage:
    """Objects in a dict; ``capacity_bytes`` simulates a small disk."""

    def __init__(
        self,
        name: str = "memory",
        capacity_bytes: int = 2**62,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.name = name
        self.capacity_bytes = capacity_bytes
        self.clock = clock  # the storage's own clock: what it stamps committed objects with
        self.objects: dict[str, bytes] = {}
        self.modified: dict[str, datetime] = {}
        self.incomplete: set[str] = set()

    def describe(self) -> str:
        """Return a name for messages."""
        return f"memory://{self.name}"

    def used_bytes(self) -> int:
        """Return the bytes held by committed objects."""
        return sum(len(data) for data in self.objects.values())

    def open_upload(self, key: str) -> MemoryUpload:
        """Start writing ``key``."""
        return MemoryUpload(self, key)

    def open_download(self, key: str) -> BinaryIO:
        """Return a stream of ``key``."""
        return io.BytesIO(self.get_bytes(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store a small object."""
        upload = self.open_upload(key)
        upload.write(data)
        upload.commit()

    def get_bytes(self, key: str) -> bytes:
        """Return a small object."""
        try:
            return self.objects[key]
        except KeyError as exc:
            raise NotFoundError(f"{self.name}: {key} does not exist") from exc

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        """List committed objects under ``prefix``."""
        for key in sorted(self.objects):
            if key.startswith(prefix):
                yield StoredObject(key, len(self.objects[key]), self.modified.get(key))

    def delete_objects(self, keys: list[str]) -> None:
        """Delete ``keys``."""
        for key in keys:
            self.objects.pop(key, None)
            self.modified.pop(key, None)

    def sweep_incomplete(self, prefix: str, is_abandoned: Callable[[str], bool]) -> list[str]:
        """Forget incomplete uploads under ``prefix``."""
        swept = sorted(
            key for key in self.incomplete if key.startswith(prefix) and is_abandoned(key)
        )
        self.incomplete.difference_update(swept)
        return swept
