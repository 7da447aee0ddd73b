"""Reading blobs back from packs by several threads: each pack read once, errors not kept."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import zstandard

from backproof.archive.encryption import ReadingKeys
from backproof.errors import StorageError
from backproof.filestore.addressing import AddressKey, key_id_of
from backproof.filestore.blob_index import BlobIndex
from backproof.filestore.entries import FileEntry
from backproof.filestore.layout import PACKS
from backproof.filestore.packs import Packer
from backproof.filestore.reader import PACKS_HELD, BlobReader, file_digest
from backproof.storage.memory import MemoryStorage

BACKUP_ID = "20261130T230000Z-00abcd"


class CountingStorage(MemoryStorage):
    """Counts the reads of packs; fails the first ``failures`` of them."""

    def __init__(self) -> None:
        super().__init__()
        self.pack_reads = 0
        self.failures = 0

    def get_bytes(self, key: str) -> bytes:
        if key.startswith(PACKS):
            self.pack_reads += 1
            if self.failures:
                self.failures -= 1
                raise StorageError(f"{self.name}: {key} timed out")
        return super().get_bytes(key)


def reader_of(contents: list[bytes]) -> tuple[BlobReader, CountingStorage, list[str]]:
    """Return a reader of one pack holding ``contents``, its storage, the blobs' addresses."""
    storage = CountingStorage()
    key = AddressKey()
    index = BlobIndex(None, key)
    packer = Packer(storage, BACKUP_ID, key, [], index.add_pack)
    compressor = zstandard.ZstdCompressor()
    addresses = [key.address(data) for data in contents]
    for address, data in zip(addresses, contents, strict=True):
        packer.add(address, compressor.compress(data), len(data))
    packer.flush()
    return BlobReader(storage, key, index, ReadingKeys()), storage, addresses


def test_threads_reading_blobs_of_one_pack_read_it_once() -> None:
    contents = [f"thumbnail {number}".encode() * 50 for number in range(64)]
    reader, storage, addresses = reader_of(contents)

    with ThreadPoolExecutor(8) as pool:
        read = list(pool.map(reader.read, addresses))

    assert read == contents
    assert storage.pack_reads == 1


def test_a_storage_error_is_not_kept_and_the_next_read_tries_again() -> None:
    reader, storage, addresses = reader_of([b"an upload"])
    storage.failures = 1

    with pytest.raises(StorageError):
        reader.read(addresses[0])

    assert reader.read(addresses[0]) == b"an upload"
    assert storage.pack_reads == 2


def test_blobs_located_for_several_files_at_once_read_back_the_same() -> None:
    contents = [f"thumbnail {number}".encode() * 50 for number in range(8)]
    reader, _storage, addresses = reader_of(contents)
    entries = [FileEntry(f"t{n}", "f", chunks=[address]) for n, address in enumerate(addresses)]

    located = reader.locate_files(entries)

    assert [b"".join(reader.file_pieces(entry, located)) for entry in entries] == contents


def test_a_file_of_one_plain_blob_has_its_checked_address_as_sha256() -> None:
    contents = [b"a thumbnail " * 40, b"first half ", b"second half"]
    reader, _storage, addresses = reader_of(contents)
    one = FileEntry("one", "f", chunks=[addresses[0]])
    two = FileEntry("two", "f", chunks=addresses[1:])

    assert reader.known_sha256(one) == hashlib.sha256(contents[0]).hexdigest()
    assert file_digest(reader, one) == hashlib.sha256(contents[0]).hexdigest()
    assert reader.known_sha256(two) is None
    assert file_digest(reader, two) == hashlib.sha256(b"first half second half").hexdigest()


def test_a_file_under_keyed_addresses_is_hashed_as_it_is_read() -> None:
    key = AddressKey("0123456789abcdef", b"k" * 32)
    reader = BlobReader(MemoryStorage(), key, BlobIndex(None, key), ReadingKeys())

    assert reader.known_sha256(FileEntry("one", "f", chunks=[key.address(b"x")])) is None


def test_a_file_of_one_blob_under_a_scheme_2_key_is_known_by_the_sha256_its_address_holds() -> None:
    secret = b"k" * 32
    key = AddressKey(key_id_of(secret, is_digest_keyed=True), secret)
    reader = BlobReader(MemoryStorage(), key, BlobIndex(None, key), ReadingKeys())
    address, sha256 = key.address_and_sha256(b"x")
    other = hashlib.sha256(b"y").hexdigest()

    assert reader.known_sha256(FileEntry("one", "f", sha256=sha256, chunks=[address])) == sha256
    assert reader.known_sha256(FileEntry("one", "f", sha256=other, chunks=[address])) is None
    assert reader.known_sha256(FileEntry("one", "f", sha256="not hex", chunks=[address])) is None


class GatedStorage(CountingStorage):
    """Holds the reads of one pack until ``release`` is set; counts each pack's reads."""

    def __init__(self) -> None:
        super().__init__()
        self.gated = ""
        self.started = threading.Event()
        self.release = threading.Event()
        self.reads: dict[str, int] = {}

    def get_bytes(self, key: str) -> bytes:
        if key.startswith(PACKS):
            self.reads[key] = self.reads.get(key, 0) + 1
            if key == self.gated:
                self.started.set()
                assert self.release.wait(10)
        return super().get_bytes(key)


def test_a_pack_being_loaded_is_not_evicted_by_the_packs_other_threads_load() -> None:
    storage, key = GatedStorage(), AddressKey()
    index = BlobIndex(None, key)
    packer = Packer(storage, BACKUP_ID, key, [], index.add_pack)
    compressor = zstandard.ZstdCompressor()
    packs: list[list[str]] = []
    for number in range(PACKS_HELD + 2):
        contents = [f"pack {number} upload {blob}".encode() * 40 for blob in range(2)]
        packs.append([key.address(data) for data in contents])
        for address, data in zip(packs[-1], contents, strict=True):
            packer.add(address, compressor.compress(data), len(data))
        packer.flush()
    reader = BlobReader(storage, key, index, ReadingKeys())
    storage.gated = packer.written[0].pack_key

    with ThreadPoolExecutor(1) as pool:
        loading = pool.submit(reader.read, packs[0][0])
        assert storage.started.wait(10)
        for blobs in packs[1:]:  # more packs than are held, while the first one loads
            reader.read(blobs[0])
        storage.release.set()
        loading.result()
    reader.read(packs[0][1])  # its loader reads its next blob

    assert storage.reads[packer.written[0].pack_key] == 1
