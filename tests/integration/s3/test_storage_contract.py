"""The one contract of a destination, run against every implementation: the in-memory twin,
a local folder and S3 (SeaweedFS). A twin that passes it is faithful to the real ones.

What only one backend does (private file modes, multipart ETags, a full disk) stays in that
backend's own tests.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from s3_server import SeaweedServer, open_s3

from backproof.errors import NotFoundError
from backproof.storage.base import Storage
from backproof.storage.local import LocalStorage
from backproof.storage.memory import MemoryStorage

pytestmark = pytest.mark.s3

# Above S3's smallest part (5 MiB), so that an unfinished upload exists on the server to sweep.
UNFINISHED_BYTES = 5 * 1024 * 1024 + 1


@pytest.fixture(params=["memory", "local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each implementation of ``Storage`` in turn, empty."""
    if request.param == "memory":
        return MemoryStorage()
    if request.param == "local":
        return LocalStorage("local", tmp_path / "backups")
    seaweed: SeaweedServer = request.getfixturevalue("seaweed")
    return open_s3(seaweed.endpoint, request.getfixturevalue("bucket"))


def keys_under(storage: Storage, prefix: str = "") -> list[str]:
    return [item.key for item in storage.list_objects(prefix)]


def test_upload_is_invisible_until_commit(storage: Storage) -> None:
    upload = storage.open_upload("crm/b1/db.sqlite.zst")
    upload.write(b"abc")
    upload.write(b"def")

    assert keys_under(storage) == []
    stored = upload.commit()
    assert (stored.key, stored.size_bytes) == ("crm/b1/db.sqlite.zst", 6)
    assert storage.get_bytes("crm/b1/db.sqlite.zst") == b"abcdef"


def test_download_streams_the_committed_bytes(storage: Storage) -> None:
    data = secrets.token_bytes(3 * 1024 * 1024 + 7)
    upload = storage.open_upload("crm/b1/files.tar.zst")
    upload.write(data)
    upload.commit()

    with storage.open_download("crm/b1/files.tar.zst") as stream:
        assert stream.read() == data


def test_aborted_upload_leaves_nothing_behind(storage: Storage) -> None:
    upload = storage.open_upload("crm/b1/db.sqlite.zst")
    upload.write(secrets.token_bytes(UNFINISHED_BYTES))

    upload.abort()
    upload.abort()  # an upload already gone is not an error

    assert keys_under(storage) == []
    assert storage.sweep_incomplete("", lambda _key: True) == []


def test_missing_key_is_not_found(storage: Storage) -> None:
    with pytest.raises(NotFoundError):
        storage.get_bytes("crm/none/manifest.json")
    with pytest.raises(NotFoundError):
        storage.open_download("crm/none/db.sqlite.zst")


def test_put_bytes_replaces_an_object(storage: Storage) -> None:
    storage.put_bytes("crm/b1/manifest.json", b"first")
    storage.put_bytes("crm/b1/manifest.json", b"second")

    assert storage.get_bytes("crm/b1/manifest.json") == b"second"
    assert keys_under(storage) == ["crm/b1/manifest.json"]


def test_list_objects_filters_by_prefix_in_key_order_with_sizes(storage: Storage) -> None:
    for key, data in (("shop/b1/m", b"x"), ("crm/b2/m", b"yy"), ("crm/b1/m", b"zzz")):
        storage.put_bytes(key, data)

    listed = [(item.key, item.size_bytes) for item in storage.list_objects("crm/")]

    assert listed == [("crm/b1/m", 3), ("crm/b2/m", 2)]


def test_delete_objects_ignores_keys_already_gone(storage: Storage) -> None:
    storage.put_bytes("crm/b1/m", b"x")
    storage.put_bytes("crm/b2/m", b"x")

    storage.delete_objects(["crm/b1/m", "crm/b1/gone"])

    assert keys_under(storage) == ["crm/b2/m"]


def test_sweep_removes_only_the_uploads_the_caller_calls_abandoned(storage: Storage) -> None:
    uploads = {key: storage.open_upload(key) for key in ("crm/old/db", "crm/new/db", "shop/old/db")}
    for upload in uploads.values():
        upload.write(secrets.token_bytes(UNFINISHED_BYTES))
    is_old: Callable[[str], bool] = lambda key: "/old/" in key  # noqa: E731

    swept = storage.sweep_incomplete("crm/", is_old)
    rest = storage.sweep_incomplete("", lambda _key: True)

    # Each entry names its key (a local folder names the partial file: ``<key>.<random>.partial``).
    assert [entry.startswith("crm/old/db") for entry in swept] == [True]
    assert [entry.split("/")[:2] for entry in rest] == [["crm", "new"], ["shop", "old"]]
    assert storage.sweep_incomplete("", lambda _key: True) == []
    assert keys_under(storage) == []
