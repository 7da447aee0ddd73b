"""The local copy of a destination's pack indexes: what it learns, what it forgets."""

from __future__ import annotations

from backproof.filestore.addressing import AddressKey
from backproof.filestore.blob_index import LOOKUP_BATCH, BlobIndex
from backproof.filestore.layout import PackName
from backproof.filestore.packs import BlobEntry, Packer
from backproof.storage.memory import MemoryStorage

KEY = AddressKey()
BACKUP_ID = "20261126T010000Z-000abc"


def stored_pack(storage: MemoryStorage) -> tuple[str, PackName]:
    """Store one blob in one pack; return its address and the pack."""
    written: list[PackName] = []

    def on_pack(pack: PackName, _blobs: list[BlobEntry]) -> None:
        written.append(pack)

    packer = Packer(storage, BACKUP_ID, KEY, [], on_pack)
    address = KEY.address(b"an upload")
    packer.add(address, b"(compressed)", 9)
    packer.flush()
    return address, written[0]


def test_sync_learns_new_packs_and_forgets_collected_ones() -> None:
    storage = MemoryStorage()
    address, pack = stored_pack(storage)
    index = BlobIndex(None, KEY)

    index.sync(storage)
    learnt = index.has(address)
    storage.delete_objects([pack.index_key])
    index.sync(storage)

    assert learnt
    assert not index.has(address)


def test_condemned_packs_are_found_for_reading_only() -> None:
    storage = MemoryStorage()
    address, pack = stored_pack(storage)
    condemned = pack.condemned_key("20261127T010000Z")
    storage.put_bytes(condemned, storage.get_bytes(pack.index_key))
    storage.delete_objects([pack.index_key])
    for_backup, for_reading = BlobIndex(None, KEY), BlobIndex(None, KEY)

    for_backup.sync(storage)
    for_reading.sync(storage, with_condemned=True)

    assert not for_backup.has(address)
    assert [found for found, _entry in for_reading.locate(address)] == [pack]


def test_locate_many_finds_every_copy_of_more_blobs_than_one_query_asks_for() -> None:
    index = BlobIndex(None, KEY)
    addresses = [KEY.address(f"upload {number}".encode()) for number in range(LOOKUP_BATCH + 7)]
    first, second = PackName(BACKUP_ID, "a" * 64), PackName(BACKUP_ID, "b" * 64)
    index.add_pack(first, [BlobEntry(address, 0, 1, 1) for address in addresses])
    index.add_pack(second, [BlobEntry(addresses[-1], 5, 1, 1)])

    found = index.locate_many([*addresses, KEY.address(b"not stored")])

    assert set(found) == set(addresses)
    assert [pack for pack, _entry in found[addresses[0]]] == [first]
    assert sorted(entry.offset for _pack, entry in found[addresses[-1]]) == [0, 5]
