"""The pure rules of the S3 backend: part sizes, expected ETags and error messages."""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from backproof.config.models import DestinationSettings
from backproof.errors import ConfigError, NotFoundError, StorageError
from backproof.storage.s3 import parse_location
from backproof.storage.s3_errors import describe_client_error, s3_errors
from backproof.storage.s3_multipart import (
    MIN_PART_SIZE_BYTES,
    SentPart,
    expected_etag,
    md5_of,
    part_size_for,
)

MEGABYTE = 1024 * 1024


def client_error(code: str, status: int, message: str = "", bucket: str = "") -> ClientError:
    error = {"Code": code, "Message": message} | ({"BucketName": bucket} if bucket else {})
    return ClientError(
        {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutObject",
    )


def test_part_size_doubles_every_thousand_parts():
    sizes = [part_size_for(number, 16 * MEGABYTE) for number in (1, 1000, 1001, 2001, 10_000)]

    assert sizes == [16 * MEGABYTE, 16 * MEGABYTE, 32 * MEGABYTE, 64 * MEGABYTE, 8192 * MEGABYTE]


def test_part_size_is_never_below_the_s3_minimum():
    assert part_size_for(1, 1024) == MIN_PART_SIZE_BYTES


def test_expected_etag_of_a_multipart_object_is_the_md5_of_the_part_md5s():
    parts = [SentPart(1, "x", md5_of(b"a" * 10)), SentPart(2, "y", md5_of(b"b"))]

    joined = md5_of(b"a" * 10) + md5_of(b"b")
    assert expected_etag(parts) == f"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-2"


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("AccessDenied", 403, "access denied (AccessDenied)"),
        ("SignatureDoesNotMatch", 403, "access denied (SignatureDoesNotMatch)"),
        ("InvalidAccessKeyId", 403, "access denied"),
        ("SlowDown", 503, "kept throttling"),
        ("BadDigest", 400, "other bytes than were sent"),
        ("InternalError", 500, "the server answered 500 InternalError: boom"),
        ("500", 500, "the server answered 500: boom"),
    ],
)
def test_client_errors_read_as_one_sentence(code: str, status: int, expected: str):
    _, sentence = describe_client_error(client_error(code, status, "boom"))

    assert expected in sentence


def test_missing_bucket_names_the_bucket():
    _, sentence = describe_client_error(client_error("NoSuchBucket", 404, bucket="crm-backups"))

    assert sentence == "bucket crm-backups does not exist"


def test_missing_key_becomes_not_found():
    with (
        pytest.raises(NotFoundError, match="offsite: reading x: no such object"),
        s3_errors("offsite", "reading x", "http://s3"),
    ):
        raise client_error("NoSuchKey", 404)


def test_refused_connection_says_cannot_connect():
    with (
        pytest.raises(StorageError, match=r"cannot connect to http://127\.0\.0\.1:9"),
        s3_errors("offsite", "listing", "http://127.0.0.1:9"),
    ):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")


def test_read_timeout_says_no_answer_in_time():
    with (
        pytest.raises(StorageError, match="did not answer in time"),
        s3_errors("offsite", "uploading", "http://s3"),
    ):
        raise ReadTimeoutError(endpoint_url="http://s3")


def test_location_splits_bucket_and_prefix_and_keeps_sse():
    settings = DestinationSettings(
        name="offsite", url="s3://crm-backups/prod/eu/", server_side_encryption="AES256"
    )

    location = parse_location(settings)

    assert (location.bucket, location.prefix) == ("crm-backups", "prod/eu")
    assert location.extra_arguments == {"ServerSideEncryption": "AES256"}


def test_url_without_bucket_is_a_config_error():
    with pytest.raises(ConfigError, match="names no bucket"):
        parse_location(DestinationSettings(name="offsite", url="s3:///prefix"))
