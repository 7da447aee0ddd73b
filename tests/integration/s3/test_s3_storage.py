"""The S3 backend against a real SeaweedFS server: uploads, reads, listing, deletion, sweeping."""

from __future__ import annotations

import hashlib
import secrets

import pytest
from s3_proxy import Fault, FaultProxy
from s3_server import READER_KEY, SeaweedServer, free_ports, incomplete_uploads, open_s3

from backproof.errors import StorageError
from backproof.storage.s3 import S3Storage

pytestmark = pytest.mark.s3

MEGABYTE = 1024 * 1024


def upload(storage: S3Storage, key: str, data: bytes, chunk_bytes: int = 1024 * 1024) -> int:
    stream = storage.open_upload(key)
    for start in range(0, len(data), chunk_bytes):
        stream.write(data[start : start + chunk_bytes])
    return stream.commit().size_bytes


def test_small_upload_commits_one_object_when_under_a_part(seaweed: SeaweedServer, bucket: str):
    storage = open_s3(seaweed.endpoint, bucket)

    size = upload(storage, "crm/20260101T000000Z-aaaaaa/db.sqlite.zst", b"small dump")

    assert size == 10
    assert storage.get_bytes("crm/20260101T000000Z-aaaaaa/db.sqlite.zst") == b"small dump"
    head = seaweed.admin().head_object(
        Bucket=bucket, Key="prod/crm/20260101T000000Z-aaaaaa/db.sqlite.zst"
    )
    assert head["ContentLength"] == 10


def test_large_upload_is_sent_in_parts_and_reads_back_whole(seaweed: SeaweedServer, bucket: str):
    storage = open_s3(seaweed.endpoint, bucket, max_concurrency=2)
    data = secrets.token_bytes(12 * MEGABYTE + 123)

    upload(storage, "crm/id/files.tar.zst", data)

    head = seaweed.admin().head_object(Bucket=bucket, Key="prod/crm/id/files.tar.zst")
    assert head["ETag"].strip('"').endswith("-3")
    with storage.open_download("crm/id/files.tar.zst") as stream:
        assert hashlib.sha256(stream.read()).digest() == hashlib.sha256(data).digest()
    assert incomplete_uploads(seaweed.admin(), bucket) == []


def test_list_and_delete_objects_stay_under_the_prefix(seaweed: SeaweedServer, bucket: str):
    storage = open_s3(seaweed.endpoint, bucket)
    seaweed.admin().put_object(Bucket=bucket, Key="other/crm/x/manifest.json", Body=b"{}")
    storage.put_bytes("crm/a/manifest.json", b"{}")
    storage.put_bytes("crm/b/manifest.json", b"{}")

    listed = [item.key for item in storage.list_objects("crm/")]
    storage.delete_objects(["crm/a/manifest.json", "crm/gone/manifest.json"])

    assert listed == ["crm/a/manifest.json", "crm/b/manifest.json"]
    assert [item.key for item in storage.list_objects("")] == ["crm/b/manifest.json"]


def test_sweep_aborts_only_the_uploads_the_caller_calls_abandoned(
    seaweed: SeaweedServer, bucket: str
):
    storage = open_s3(seaweed.endpoint, bucket)
    admin = seaweed.admin()
    for backup_id in ("20260101T000000Z-old", "20260102T000000Z-new"):
        admin.create_multipart_upload(Bucket=bucket, Key=f"prod/crm/{backup_id}/db.sqlite.zst")
    admin.create_multipart_upload(Bucket=bucket, Key="elsewhere/crm/x/db.sqlite.zst")

    swept = storage.sweep_incomplete("crm/", lambda key: "old" in key)

    assert swept == ["crm/20260101T000000Z-old/db.sqlite.zst"]
    assert sorted(incomplete_uploads(admin, bucket)) == [
        "elsewhere/crm/x/db.sqlite.zst",
        "prod/crm/20260102T000000Z-new/db.sqlite.zst",
    ]


def test_missing_bucket_is_one_clear_error(seaweed: SeaweedServer):
    storage = open_s3(seaweed.endpoint, "no-such-bucket-here")

    with pytest.raises(StorageError, match="bucket no-such-bucket-here does not exist") as caught:
        storage.put_bytes("crm/a/manifest.json", b"{}")
    assert "\n" not in str(caught.value)


def test_read_only_credentials_get_access_denied(seaweed: SeaweedServer, bucket: str):
    storage = open_s3(
        seaweed.endpoint, bucket, access_key_id=READER_KEY[0], secret_access_key=READER_KEY[1]
    )

    with pytest.raises(StorageError, match="access denied") as caught:
        upload(storage, "crm/a/db.sqlite.zst", b"dump")
    assert READER_KEY[1] not in str(caught.value)


def test_wrong_secret_gets_access_denied_without_showing_it(seaweed: SeaweedServer, bucket: str):
    storage = open_s3(seaweed.endpoint, bucket, secret_access_key="not-the-secret-123")

    with pytest.raises(StorageError, match="access denied") as caught:
        list(storage.list_objects(""))
    assert "not-the-secret-123" not in str(caught.value)


def test_closed_port_is_connection_refused(bucket: str):
    (port,) = free_ports(1)
    storage = open_s3(f"http://127.0.0.1:{port}", bucket, max_attempts=1)

    with pytest.raises(StorageError, match="cannot connect"):
        storage.get_bytes("crm/a/manifest.json")


def test_download_resumes_when_the_connection_breaks_midway(
    seaweed: SeaweedServer, bucket: str, proxy: FaultProxy
):
    data = secrets.token_bytes(3 * MEGABYTE)
    open_s3(seaweed.endpoint, bucket).put_bytes("crm/id/db.sqlite.zst", data)
    storage = open_s3(proxy.endpoint, bucket)
    cut = proxy.add(Fault(lambda request: request.method == "GET", "truncate", times=1))

    with storage.open_download("crm/id/db.sqlite.zst") as stream:
        read = stream.read()

    assert cut.hits == 1
    assert read == data


def test_corrupted_part_is_refused_by_the_server_checksum(
    seaweed: SeaweedServer, bucket: str, proxy: FaultProxy
):
    storage = open_s3(proxy.endpoint, bucket)
    proxy.add(Fault(lambda request: request.is_part_upload, "corrupt"))

    with pytest.raises(StorageError, match="BadDigest"):
        upload(storage, "crm/id/files.tar.zst", secrets.token_bytes(11 * MEGABYTE))
    assert list(storage.list_objects("")) == []
    assert incomplete_uploads(seaweed.admin(), bucket) == []
