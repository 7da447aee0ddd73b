"""Reading an S3 object as a stream that survives a connection cut midway."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from backproof.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

    from backproof.storage.s3 import S3Storage


class S3Download(io.RawIOBase):
    """A readable object that reopens at the offset reached when a read breaks off.

    botocore retries requests, not reads of a body already streaming: a connection cut in the
    middle of a large part would otherwise fail a restore. The reopened range is pinned to the
    first answer's ETag, so a part replaced meanwhile is an error, never a splice of two objects.
    """

    def __init__(self, storage: S3Storage, key: str) -> None:
        super().__init__()
        self.storage = storage
        self.key = key
        self.offset = 0
        self.attempts_left = storage.location.max_attempts
        self.answer = self._open()
        self.etag = self.answer["ETag"]

    def readable(self) -> bool:
        """Return True: this is a stream to read."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the object; reopen and go on after a broken read."""
        view = memoryview(buffer).cast("B")
        while True:
            try:
                with self.storage.translate_errors(f"reading {self.key}"):
                    data = self.answer["Body"].read(len(view))
                break
            except StorageError:
                self.attempts_left -= 1
                if self.attempts_left <= 0:
                    raise
                self.answer["Body"].close()
                self.answer = self._open()
        view[: len(data)] = data
        self.offset += len(data)
        return len(data)

    def close(self) -> None:
        """Close the connection of the body."""
        if not self.closed:
            self.answer["Body"].close()
        super().close()

    def _open(self) -> GetObjectOutputTypeDef:
        arguments: dict[str, Any] = {
            "Bucket": self.storage.location.bucket,
            "Key": self.storage.full_key(self.key),
        }
        if self.offset:
            arguments |= {"Range": f"bytes={self.offset}-", "IfMatch": self.etag}
        with self.storage.translate_errors(f"reading {self.key}"):
            return self.storage.client.get_object(**arguments)
