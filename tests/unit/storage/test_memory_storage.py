"""The in-memory twin behaves like a real destination: atomic uploads, a full disk, sweeping."""

from __future__ import annotations

import pytest

from backproof.errors import NotFoundError, StorageFullError
from backproof.storage.memory import MemoryStorage


def test_upload_is_invisible_until_commit() -> None:
    storage = MemoryStorage()
    upload = storage.open_upload("crm/b1/db")
    upload.write(b"data")

    assert list(storage.list_objects("")) == []
    upload.commit()
    assert storage.get_bytes("crm/b1/db") == b"data"


def test_write_past_capacity_fails_like_a_full_disk() -> None:
    storage = MemoryStorage(capacity_bytes=10)
    upload = storage.open_upload("crm/b1/db")
    upload.write(b"12345")

    with pytest.raises(StorageFullError, match="no space left"):
        upload.write(b"678901")


def test_aborted_upload_is_forgotten() -> None:
    storage = MemoryStorage()
    upload = storage.open_upload("crm/b1/db")
    upload.write(b"data")

    upload.abort()

    assert storage.objects == {}
    assert storage.incomplete == set()


def test_missing_key_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        MemoryStorage().get_bytes("crm/b1/manifest.json")


def test_list_objects_filters_by_prefix_in_key_order() -> None:
    storage = MemoryStorage()
    for key in ("shop/b1/m", "crm/b2/m", "crm/b1/m"):
        storage.put_bytes(key, b"x")

    assert [item.key for item in storage.list_objects("crm/")] == ["crm/b1/m", "crm/b2/m"]


def test_delete_objects_ignores_keys_already_gone() -> None:
    storage = MemoryStorage()
    storage.put_bytes("crm/b1/m", b"x")

    storage.delete_objects(["crm/b1/m", "crm/b1/gone"])

    assert storage.objects == {}


def test_sweep_incomplete_removes_only_abandoned_uploads() -> None:
    storage = MemoryStorage()
    storage.open_upload("crm/old/db")
    storage.open_upload("crm/live/db")

    swept = storage.sweep_incomplete("crm/", lambda key: "old" in key)

    assert swept == ["crm/old/db"]
    assert storage.incomplete == {"crm/live/db"}
