"""A streaming upload to S3: bounded memory and concurrency, confirmed, aborted on any failure.

Bytes pushed into ``S3Upload.write`` fill one part buffer; a full buffer becomes a part sent by
a small thread pool while the next fills. At most ``max_concurrency`` parts are in flight, so
memory stays under ``(max_concurrency + 1) * part size`` whatever the object's size. Each part
carries its Content-MD5, which the server checks, so a bit flipped on the way is refused there.

An object smaller than one part is sent with a single PutObject. Otherwise the multipart upload
is completed on ``commit()``, and, either way, the stored object's size and ETag (the MD5, or
the MD5 of the parts' MD5s) are confirmed with HeadObject before ``commit()`` returns, so the
manifest is never written over an object that differs from what was sent. Any failure aborts
the multipart upload; one that cannot be aborted (the server is gone) is swept by cleanup.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from backproof.errors import StorageError
from backproof.storage.base import StoredObject
from backproof.storage.s3_errors import error_code, s3_errors

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

logger = logging.getLogger(__name__)

MIN_PART_SIZE_BYTES = 5 * 1024 * 1024
"""S3's smallest part (every part but the last)."""
MAX_PARTS = 10_000
"""S3's most parts in one upload."""
PARTS_PER_SIZE_STEP = 1_000
"""The part size doubles every this many parts, so 10,000 parts of 16 MiB and more hold any dump
(16 MiB parts reach 16 GB after 1,000 parts and ~16 TB after 10,000)."""


@dataclass(frozen=True)
class ObjectAddress:
    """Where an object goes and how it is sent."""

    client: S3Client
    bucket: str
    key: str
    where: str
    endpoint: str
    part_size_bytes: int = 16 * 1024 * 1024
    max_concurrency: int = 4
    extra_arguments: dict[str, Any] = field(default_factory=dict)
    # The key as the destination's callers name it (without the URL's prefix).
    relative_key: str = ""

    def errors(self, what: str) -> AbstractContextManager[None]:
        """Return the context translating botocore errors of ``what`` (see ``s3_errors``)."""
        return s3_errors(self.where, what, self.endpoint)


@dataclass(frozen=True)
class SentPart:
    """A part the server accepted."""

    number: int
    etag: str
    md5_digest: bytes


def md5_of(data: bytes) -> bytes:
    """Return the MD5 digest S3 checks (Content-MD5), an integrity check and not a security one."""
    return hashlib.md5(data, usedforsecurity=False).digest()


def expected_etag(parts: list[SentPart]) -> str:
    """Return the ETag S3 gives an object made of ``parts`` (multipart: MD5 of MD5s, ``-N``)."""
    joined = b"".join(part.md5_digest for part in parts)
    return f"{md5_of(joined).hex()}-{len(parts)}"


def part_size_for(number: int, base_bytes: int) -> int:
    """Return the size of part ``number`` (1-based): ``base_bytes``, doubling every 1,000 parts."""
    return max(base_bytes, MIN_PART_SIZE_BYTES) << ((number - 1) // PARTS_PER_SIZE_STEP)


class S3Upload:
    """One object being streamed to S3; invisible until ``commit()`` returns."""

    def __init__(self, address: ObjectAddress) -> None:
        self.address = address
        self.buffer = bytearray()
        self.size_bytes = 0
        self.upload_id: str | None = None
        self.executor: ThreadPoolExecutor | None = None
        self.pending: set[Future[SentPart]] = set()
        self.sent: list[SentPart] = []
        self.next_number = 1
        self.closed = False

    def write(self, data: bytes) -> int:
        """Append ``data``; send every full part. Raises StorageError when a part failed."""
        if self.closed:
            raise StorageError(f"{self.address.where}: write to {self.address.key} after it ended")
        self.buffer += data
        self.size_bytes += len(data)
        while len(self.buffer) >= part_size_for(self.next_number, self.address.part_size_bytes):
            size = part_size_for(self.next_number, self.address.part_size_bytes)
            with memoryview(self.buffer) as view:
                part = bytes(view[:size])  # one copy: slicing the bytearray would make two
            del self.buffer[:size]
            self._send_part(part)
        self._collect({future for future in self.pending if future.done()})
        return len(data)

    def commit(self) -> StoredObject:
        """Send the rest, complete the upload, confirm size and ETag; abort on any failure."""
        if self.closed:
            raise StorageError(f"{self.address.where}: commit of {self.address.key} after it ended")
        try:
            if self.upload_id is None:
                etag = self._put_whole()
            else:
                if self.buffer:
                    self._send_part(bytes(self.buffer))
                    self.buffer.clear()
                self._collect(wait(self.pending).done)
                etag = self._complete()
            self._confirm(etag)
        except BaseException:
            self.abort()
            raise
        self._close()
        return StoredObject(self.address.relative_key or self.address.key, self.size_bytes)

    def abort(self) -> None:
        """Stop sending and abort the multipart upload; never raises (cleanup sweeps leftovers)."""
        if self.closed:
            return
        self._close()
        if self.upload_id is None:
            return
        address = self.address
        try:
            with address.errors(f"aborting the upload of {address.key}"):
                address.client.abort_multipart_upload(
                    Bucket=address.bucket, Key=address.key, UploadId=self.upload_id
                )
        except StorageError as exc:
            if error_code(exc) != "NoSuchUpload":
                # Not a second error line: the failure that led here is the one to report.
                logger.info("%s; cleanup sweeps the incomplete upload later", exc)

    def _close(self) -> None:
        self.closed = True
        self.buffer = bytearray()
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
        self.pending.clear()

    def _send_part(self, data: bytes) -> None:
        if self.next_number > MAX_PARTS:
            raise StorageError(
                f"{self.address.where}: {self.address.key} needs over {MAX_PARTS} parts"
            )
        if self.upload_id is None:
            self._start()
        assert self.executor is not None  # noqa: S101 - _start made it
        while len(self.pending) >= self.address.max_concurrency:
            self._collect(wait(self.pending, return_when=FIRST_COMPLETED).done)
        self.pending.add(self.executor.submit(self._upload_part, self.next_number, data))
        self.next_number += 1

    def _collect(self, done: set[Future[SentPart]]) -> None:
        for future in done:
            self.pending.discard(future)
            self.sent.append(future.result())

    def _start(self) -> None:
        address = self.address
        with address.errors(f"starting the upload of {address.key}"):
            answer = address.client.create_multipart_upload(
                Bucket=address.bucket, Key=address.key, **address.extra_arguments
            )
        self.upload_id = answer["UploadId"]
        self.executor = ThreadPoolExecutor(
            max_workers=address.max_concurrency, thread_name_prefix="s3-part"
        )

    def _upload_part(self, number: int, data: bytes) -> SentPart:
        address = self.address
        digest = md5_of(data)
        assert self.upload_id is not None  # noqa: S101 - parts follow _start
        with address.errors(f"uploading part {number} of {address.key}"):
            answer = address.client.upload_part(
                Bucket=address.bucket,
                Key=address.key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=data,
                ContentMD5=base64.b64encode(digest).decode(),
            )
        return SentPart(number, answer["ETag"].strip('"'), digest)

    def _complete(self) -> str:
        address = self.address
        parts = sorted(self.sent, key=lambda part: part.number)
        assert self.upload_id is not None  # noqa: S101 - only multipart uploads complete
        with address.errors(f"completing the upload of {address.key}"):
            address.client.complete_multipart_upload(
                Bucket=address.bucket,
                Key=address.key,
                UploadId=self.upload_id,
                MultipartUpload={
                    "Parts": [{"ETag": part.etag, "PartNumber": part.number} for part in parts]
                },
            )
        self.upload_id = None  # completed: nothing is left to abort
        return expected_etag(parts)

    def _put_whole(self) -> str:
        address = self.address
        data = bytes(self.buffer)
        digest = md5_of(data)
        with address.errors(f"uploading {address.key}"):
            address.client.put_object(
                Bucket=address.bucket,
                Key=address.key,
                Body=data,
                ContentMD5=base64.b64encode(digest).decode(),
                **address.extra_arguments,
            )
        return digest.hex()

    def _confirm(self, etag: str) -> None:
        confirm_stored_object(self.address, self.size_bytes, etag)


def confirm_stored_object(address: ObjectAddress, size_bytes: int, etag: str) -> None:
    """Check with HeadObject that the stored object has ``size_bytes`` and ``etag``.

    The ETag is skipped under SSE-KMS, where S3 does not make it the MD5. Raises StorageError
    (after deleting the object, which would otherwise pass for a good one) on a mismatch.
    """
    with address.errors(f"confirming {address.key}"):
        answer = address.client.head_object(Bucket=address.bucket, Key=address.key)
    stored_etag = answer.get("ETag", "").strip('"')
    problems = []
    if answer["ContentLength"] != size_bytes:
        problems.append(f"{answer['ContentLength']} bytes stored, {size_bytes} sent")
    checks_etag = address.extra_arguments.get("ServerSideEncryption") != "aws:kms"
    if checks_etag and stored_etag != etag:
        problems.append(f"ETag {stored_etag}, expected {etag}")
    if not problems:
        return
    with address.errors(f"deleting the mismatched {address.key}"):
        address.client.delete_object(Bucket=address.bucket, Key=address.key)
    raise StorageError(
        f"{address.where}: {address.key} differs from what was sent ({'; '.join(problems)})"
    )
