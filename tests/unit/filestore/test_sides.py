"""A destination's side of a backup: blobs it holds are taken, and their packs referenced."""

from __future__ import annotations

from backproof.filestore.addressing import AddressKey
from backproof.filestore.blob_index import BlobIndex
from backproof.filestore.layout import PackName
from backproof.filestore.packs import BlobEntry, Packer
from backproof.filestore.sides import Side
from backproof.storage.memory import MemoryStorage

KEY = AddressKey()
BACKUP_ID = "20261201T010000Z-000abc"
PACK = PackName("20261130T010000Z-000abc", "c" * 64)


def side_holding(addresses: list[str]) -> Side:
    """Return the side of a destination whose index holds ``addresses`` in ``PACK``."""
    storage = MemoryStorage()
    index = BlobIndex(None, KEY)
    index.add_pack(PACK, [BlobEntry(address, 0, 1, 1) for address in addresses])
    return Side(storage, index, Packer(storage, BACKUP_ID, KEY, [], index.add_pack))


def test_blobs_learnt_together_are_taken_and_their_pack_referenced() -> None:
    held = [KEY.address(b"one"), KEY.address(b"two")]
    side = side_holding(held)

    side.learn({*held, KEY.address(b"not stored")})

    assert [side.take(address) for address in held] == [True, True]
    assert side.referenced == {PACK.text}


def test_blob_not_learnt_is_still_found_in_the_index() -> None:
    held = KEY.address(b"one")
    side = side_holding([held])

    side.learn({KEY.address(b"another folder's blob")})

    assert side.take(held)
    assert not side.take(KEY.address(b"not stored"))


def test_holding_answers_for_many_blobs_from_the_index_and_the_open_pack() -> None:
    in_index, in_pack = KEY.address(b"stored"), KEY.address(b"packed")
    side = side_holding([in_index])
    side.packer.add(in_pack, b"x", 1)

    held = side.holding([in_index, in_pack, KEY.address(b"not stored")])

    assert held == {in_index, in_pack}
