"""The in-memory twin's own behaviour: a full disk (the rest is the storage contract suite,
tests/integration/s3/test_storage_contract.py, run against the twin too)."""

from __future__ import annotations

import pytest

from backproof.errors import StorageFullError
from backproof.storage.memory import MemoryStorage


def test_write_past_capacity_fails_like_a_full_disk() -> None:
    storage = MemoryStorage(capacity_bytes=10)
    upload = storage.open_upload("crm/b1/db")
    upload.write(b"12345")

    with pytest.raises(StorageFullError, match="no space left"):
        upload.write(b"678901")
