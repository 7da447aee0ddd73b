"""A destination on S3 or any S3-compatible store: ``s3://bucket/prefix``.

The client is boto3, the reference client maintained by AWS: its retry modes (exponential
backoff with jitter on throttling, 5xx answers, timeouts and cut connections), its credential
chain (config, ``AWS_*`` variables, profiles, instance roles) and its addressing options cover
every S3-compatible server we target. Uploads stream through ``S3Upload`` (``s3_multipart``),
which keeps memory and concurrency bounded and confirms what was stored. Errors become one line
by ``s3_errors``; credentials never reach a message or a log.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ProfileNotFound

from backproof import __version__
from backproof.config.models import DestinationSettings
from backproof.errors import ConfigError, StorageError
from backproof.masking import mask_url
from backproof.storage.base import CHUNK_BYTES, StoredObject
from backproof.storage.s3_download import S3Download
from backproof.storage.s3_errors import error_code, s3_errors
from backproof.storage.s3_multipart import ObjectAddress, S3Upload, confirm_stored_object, md5_of

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

DELETE_BATCH_SIZE = 1000
"""S3's most keys in one DeleteObjects call."""
DEFAULT_REGION = "us-east-1"
MEGABYTE = 1024 * 1024


def make_client(settings: DestinationSettings) -> S3Client:
    """Return an S3 client for a destination: retries, timeouts, addressing, credentials.

    Raises ConfigError when the profile does not exist or only half of a key pair is given.
    """
    has_id, has_secret = settings.access_key_id is not None, settings.secret_access_key is not None
    if has_id != has_secret:
        raise ConfigError(
            [f"destination {settings.name}: set both access_key_id and secret_access_key"]
        )
    try:
        session = boto3.session.Session(profile_name=settings.profile)
    except ProfileNotFound as exc:
        raise ConfigError(
            [f"destination {settings.name}: AWS profile {settings.profile!r} not found"]
        ) from exc
    config = Config(
        region_name=settings.region or session.region_name or DEFAULT_REGION,
        s3={"addressing_style": "path" if settings.path_style else "virtual"},
        retries={"mode": "standard", "max_attempts": settings.max_attempts},
        connect_timeout=settings.timeout_seconds,
        read_timeout=settings.timeout_seconds,
        max_pool_connections=settings.max_concurrency + 2,
        # We send Content-MD5 ourselves; the newer default (CRC32 trailers in aws-chunked
        # bodies) is refused by several S3-compatible servers.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        user_agent_extra=f"backproof/{__version__}",
    )
    secret = settings.secret_access_key.get_secret_value() if settings.secret_access_key else None
    return session.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=secret,
        config=config,
    )


@dataclass(frozen=True)
class Location:
    """Where a destination's objects live, and how they are written."""

    bucket: str
    prefix: str
    endpoint: str
    part_size_bytes: int
    max_concurrency: int
    max_attempts: int
    extra_arguments: dict[str, Any]


def parse_location(settings: DestinationSettings) -> Location:
    """Return the bucket and prefix of ``s3://bucket/prefix`` and the upload settings."""
    parts = urlsplit(settings.url)
    if not parts.netloc:
        raise ConfigError([f"destination {settings.name}: {settings.url!r} names no bucket"])
    extra: dict[str, Any] = {}
    if settings.server_side_encryption:
        extra["ServerSideEncryption"] = settings.server_side_encryption
    return Location(
        bucket=parts.netloc,
        prefix=parts.path.strip("/"),
        endpoint=mask_url(settings.endpoint_url or "the AWS S3 endpoint"),
        part_size_bytes=settings.part_size_mb * MEGABYTE,
        max_concurrency=settings.max_concurrency,
        max_attempts=settings.max_attempts,
        extra_arguments=extra,
    )


class S3Storage:
    """Backups in a bucket, under a prefix."""

    def __init__(self, name: str, client: S3Client, location: Location) -> None:
        self.name = name
        self.client = client
        self.location = location
        self.where = f"{name} ({self.describe()})"

    @classmethod
    def from_settings(cls, settings: DestinationSettings) -> S3Storage:
        """Open the destination described by ``settings`` (no request is made yet)."""
        return cls(settings.name, make_client(settings), parse_location(settings))

    def describe(self) -> str:
        """Return the bucket and prefix, without credentials."""
        return f"s3://{self.location.bucket}/{self.location.prefix}".rstrip("/")

    def open_upload(self, key: str) -> S3Upload:
        """Start writing ``key`` (the first request is made once a part is full, or on commit)."""
        return S3Upload(self._address(key))

    def open_download(self, key: str) -> BinaryIO:
        """Return a stream of ``key`` that resumes where it broke off when a read fails."""
        download = S3Download(self, key)
        return io.BufferedReader(download, buffer_size=CHUNK_BYTES)

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write a small object atomically with PutObject, then confirm it (the manifest)."""
        address = self._address(key)
        digest = md5_of(data)
        with self.translate_errors(f"writing {key}"):
            self.client.put_object(
                Bucket=self.location.bucket,
                Key=address.key,
                Body=data,
                ContentMD5=base64.b64encode(digest).decode(),
                **self.location.extra_arguments,
            )
        confirm_stored_object(address, len(data), digest.hex())

    def get_bytes(self, key: str) -> bytes:
        """Read a small object; NotFoundError when it does not exist."""
        with self.translate_errors(f"reading {key}"):
            answer = self.client.get_object(Bucket=self.location.bucket, Key=self.full_key(key))
            return answer["Body"].read()

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        """List committed objects under ``prefix`` (incomplete uploads are not objects)."""
        paginator = self.client.get_paginator("list_objects_v2")
        with self.translate_errors(f"listing {prefix or '/'}"):
            pages = paginator.paginate(Bucket=self.location.bucket, Prefix=self.full_key(prefix))
            for page in pages:
                for item in page.get("Contents", []):
                    if not item["Key"].endswith("/"):
                        key = self._relative(item["Key"])
                        yield StoredObject(key, item["Size"], item.get("LastModified"))

    def delete_objects(self, keys: list[str]) -> None:
        """Delete ``keys`` in batches; keys already gone are not an error."""
        for start in range(0, len(keys), DELETE_BATCH_SIZE):
            batch = keys[start : start + DELETE_BATCH_SIZE]
            with self.translate_errors(f"deleting {batch[0]}…"):
                objects: list[ObjectIdentifierTypeDef] = [
                    {"Key": self.full_key(key)} for key in batch
                ]
                answer = self.client.delete_objects(
                    Bucket=self.location.bucket, Delete={"Objects": objects, "Quiet": True}
                )
            failed = answer.get("Errors", [])
            if failed:
                first = failed[0]
                raise StorageError(
                    f"{self.where}: deleting {len(failed)} objects failed, first "
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip()
                )

    def sweep_incomplete(self, prefix: str, is_abandoned: Callable[[str], bool]) -> list[str]:
        """Abort incomplete multipart uploads under ``prefix`` whose key ``is_abandoned``."""
        paginator = self.client.get_paginator("list_multipart_uploads")
        found: list[tuple[str, str]] = []
        with self.translate_errors(f"listing incomplete uploads under {prefix or '/'}"):
            pages = paginator.paginate(Bucket=self.location.bucket, Prefix=self.full_key(prefix))
            for page in pages:
                found += [(item["Key"], item["UploadId"]) for item in page.get("Uploads", [])]
        swept: list[str] = []
        for full_key, upload_id in found:
            key = self._relative(full_key)
            if is_abandoned(key):
                self._abort_upload(full_key, upload_id)
                swept.append(key)
        return sorted(swept)

    def _abort_upload(self, full_key: str, upload_id: str) -> None:
        what = f"aborting the incomplete upload of {self._relative(full_key)}"
        try:
            with self.translate_errors(what):
                self.client.abort_multipart_upload(
                    Bucket=self.location.bucket, Key=full_key, UploadId=upload_id
                )
        except StorageError as exc:
            if error_code(exc) != "NoSuchUpload":
                raise

    def _address(self, key: str) -> ObjectAddress:
        location = self.location
        return ObjectAddress(
            client=self.client,
            bucket=location.bucket,
            key=self.full_key(key),
            where=self.where,
            endpoint=location.endpoint,
            part_size_bytes=location.part_size_bytes,
            max_concurrency=location.max_concurrency,
            extra_arguments=location.extra_arguments,
            relative_key=key,
        )

    def translate_errors(self, what: str) -> AbstractContextManager[None]:
        """Return the context that turns botocore errors of ``what`` into StorageError."""
        return s3_errors(self.where, what, self.location.endpoint)

    def full_key(self, key: str) -> str:
        """Return the bucket key of ``key``; StorageError for a key escaping the prefix."""
        if key.startswith("/") or ".." in key.split("/"):
            raise StorageError(f"refusing a key outside the destination: {key!r}")
        return f"{self.location.prefix}/{key}" if self.location.prefix else key

    def _relative(self, full_key: str) -> str:
        prefix = f"{self.location.prefix}/" if self.location.prefix else ""
        return full_key.removeprefix(prefix)
