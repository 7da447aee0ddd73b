"""Packs and their indexes: bounded, sealed when keyed, refused when altered."""

from __future__ import annotations

import secrets

import pytest

from backproof.errors import IntegrityError
from backproof.filestore.addressing import AddressKey, key_id_of
from backproof.filestore.layout import PackName
from backproof.filestore.packs import (
    PACK_MAX_BLOBS,
    BlobEntry,
    Packer,
    PackIndex,
    decode_index,
    encode_index,
)
from backproof.storage.memory import MemoryStorage

SECRET = secrets.token_bytes(32)
KEYED = AddressKey(key_id_of(SECRET), SECRET)


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
