"""Packs and their indexes: bounded, sealed when keyed, refused when altered."""

from __future__ import annotations

import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import zstandard
from pyrage import x25519

from backproof.errors import IntegrityError, StorageFullError
from backproof.filestore import packs
from backproof.filestore.addressing import AddressKey, key_id_of
from backproof.filestore.blob_cutting import blob_from_pack
from backproof.filestore.layout import PackName
from backproof.filestore.packs import (
    PACK_MAX_BLOBS,
    UPLOADS_IN_FLIGHT,
    BlobEntry,
    Packer,
    PackIndex,
    decode_index,
    encode_index,
    read_pack,
)
from backproof.storage.memory import MemoryStorage

SECRET = secrets.token_bytes(32)
KEYED = AddressKey(key_id_of(SECRET), SECRET)
BACKUP_ID = "20261126T010000Z-000abc"


def test_a_pack_of_tiny_blobs_is_closed_by_count() -> None:
    written: list[PackName] = []
    packer = Packer(
        MemoryStorage(), "20261126T010000Z-000abc", AddressKey(), [], lambda p, b: written.append(p)
    )

    for number in range(PACK_MAX_BLOBS + 1):
        packer.add(f"{number:064x}", b"x", 1)
    packer.flush()

    assert len(written) == 2


def test_a_keyed_index_reveals_no_address_and_reads_back() -> None:
    index = PackIndex(KEYED.key_id, [BlobEntry(KEYED.address(b"upload"), 0, 10, 6)])

    sealed = encode_index(KEYED, index)

    assert index.blobs[0].address.encode() not in sealed
    assert decode_index(KEYED, sealed, "index") == index


def test_an_altered_index_is_refused() -> None:
    sealed = bytearray(encode_index(KEYED, PackIndex(KEYED.key_id, [])))
    sealed[-1] ^= 1

    with pytest.raises(IntegrityError, match="does not authenticate"):
        decode_index(KEYED, bytes(sealed), "index")


class GatedStorage(MemoryStorage):
    """A destination whose writes wait for ``gate``, counting those waiting at once."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.lock = threading.Lock()
        self.waiting = 0
        self.most_waiting = 0

    def put_bytes(self, key: str, data: bytes) -> None:
        with self.lock:
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
        self.gate.wait(timeout=30)
        with self.lock:
            self.waiting -= 1
        super().put_bytes(key, data)


def test_packs_upload_a_few_at_once_and_are_recorded_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(packs, "PACK_MAX_BLOBS", 1)  # every blob closes its pack
    storage = GatedStorage()
    recorded: list[list[str]] = []
    packer = Packer(
        storage, BACKUP_ID, AddressKey(), [], lambda p, b: recorded.append([e.address for e in b])
    )
    addresses = [f"{number:064x}" for number in range(UPLOADS_IN_FLIGHT + 2)]
    with ThreadPoolExecutor(UPLOADS_IN_FLIGHT + 2) as uploader:
        packer.uploader = uploader
        for address in addresses[:UPLOADS_IN_FLIGHT]:
            packer.add(address, b"x", 1)
        deadline = time.monotonic() + 30
        while storage.waiting < UPLOADS_IN_FLIGHT and time.monotonic() < deadline:
            time.sleep(0.01)

        assert storage.waiting == UPLOADS_IN_FLIGHT  # all uploading at once
        assert all(packer.holds(address) for address in addresses[:UPLOADS_IN_FLIGHT])
        assert recorded == []

        storage.gate.set()
        for address in addresses[UPLOADS_IN_FLIGHT:]:
            packer.add(address, b"x", 1)
        packer.wait()

    assert recorded == [[address] for address in addresses]  # in the order they were filled
    assert storage.most_waiting <= UPLOADS_IN_FLIGHT
    assert not any(packer.holds(address) for address in addresses)
    assert len(packer.written) == len(addresses)


def test_a_failed_upload_is_raised_and_its_blobs_no_longer_held() -> None:
    storage = MemoryStorage(capacity_bytes=0)
    packer = Packer(storage, BACKUP_ID, AddressKey(), [], lambda p, b: None)
    with ThreadPoolExecutor(1) as uploader:
        packer.uploader = uploader
        packer.add("a" * 64, b"x", 1)
        packer.flush()

        with pytest.raises(StorageFullError):
            packer.wait()

    assert not packer.holds("a" * 64)


def test_an_encrypted_pack_of_many_pieces_reads_back_blob_by_blob() -> None:
    identity = x25519.Identity.generate()
    storage = MemoryStorage()
    written: list[tuple[PackName, list[BlobEntry]]] = []
    packer = Packer(
        storage, BACKUP_ID, KEYED, [identity.to_public()], lambda p, b: written.append((p, b))
    )
    raws = [os.urandom(size) for size in (1, 8191, 8192, 8193, 100_000, 3)]
    compressed = [zstandard.ZstdCompressor().compress(raw) for raw in raws]
    for number, data in enumerate(compressed):
        packer.add(KEYED.address(raws[number]), data, len(raws[number]))
    packer.flush()

    [(pack, entries)] = written
    assert b"".join(compressed) not in storage.objects[pack.pack_key]  # sealed
    plain = read_pack(storage, pack, lambda: [identity])
    assert plain == b"".join(compressed)
    assert [blob_from_pack(plain, entry, "pack") for entry in entries] == raws


def test_an_encrypted_pack_altered_past_its_header_is_refused() -> None:
    identity = x25519.Identity.generate()
    storage = MemoryStorage()
    written: list[PackName] = []
    packer = Packer(
        storage, BACKUP_ID, KEYED, [identity.to_public()], lambda p, b: written.append(p)
    )
    packer.add(KEYED.address(b"upload"), zstandard.ZstdCompressor().compress(b"upload"), 6)
    packer.flush()
    [pack] = written
    stored = bytearray(storage.objects[pack.pack_key])
    stored[-1] ^= 1
    storage.objects[pack.pack_key] = bytes(stored)

    with pytest.raises(IntegrityError, match="does not decrypt"):
        read_pack(storage, pack, lambda: [identity], is_checked=False)
    with pytest.raises(IntegrityError, match="does not match its checksum"):
        read_pack(storage, pack, lambda: [identity])
