"""The backup's thread pool: results in submission order, bounded work, blobs stored once."""

from __future__ import annotations

import hashlib
import io
import os
import random
import threading
import time
from pathlib import Path

import pytest
from pyfastcdc import FastCDC

from backproof.filestore.addressing import AddressKey
from backproof.filestore.entries import read_list
from backproof.filestore.layout import INDEX
from backproof.filestore.listing import read_batch
from backproof.filestore.packs import decode_index
from backproof.filestore.pipeline import IN_FLIGHT_BYTES, Blob, BlobMaker, OrderedWork
from backproof.filestore.writer import (
    CHUNK_AVERAGE_BYTES,
    CHUNK_MAX_BYTES,
    CHUNK_MIN_BYTES,
    READ_BLOCK_BYTES,
    FilesStoreSession,
    StoreOptions,
)
from backproof.storage.memory import MemoryStorage

BACKUP_ID = "20261130T230000Z-00abcd"


def test_results_are_taken_in_submission_order_whatever_finishes_first() -> None:
    taken: list[int] = []
    work = OrderedWork(2, taken.append)

    def late_first(number: int) -> int:
        time.sleep(0.02 if number % 2 == 0 else 0)
        return number

    for number in range(20):
        work.submit(1, late_first, number)
    work.take_all()
    work.close()

    assert taken == list(range(20))


def test_work_in_flight_stays_under_its_byte_bound() -> None:
    release = threading.Event()
    work = OrderedWork(2, lambda result: None)
    weights: list[int] = []

    for _number in range(10):
        work.submit(IN_FLIGHT_BYTES // 4, lambda: release.wait(0.01))
        weights.append(work.weight)
    release.set()
    work.take_all()
    work.close()

    assert max(weights) <= IN_FLIGHT_BYTES


def backup_folder(
    folder: Path,
    storage: MemoryStorage,
    cache_dir: Path | None = None,
    backup_id: str = BACKUP_ID,
) -> bytes:
    """Back up ``folder`` into ``storage`` with a session (its local caches in ``cache_dir``,
    in memory without); return the file list written."""
    options = StoreOptions(cache_dir, AddressKey(), [])
    session = FilesStoreSession({"local": storage}, "crm", backup_id, options)
    session.open()
    written = bytearray()

    class Sink:
        def write(self, data: bytes, /) -> int:
            written.extend(data)
            return len(data)

    session.write_list([folder], Sink())
    session.finish(["local"])
    session.close(completed=True)
    return bytes(written)


def test_identical_files_read_at_once_are_stored_once(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    folder.mkdir()
    for number in range(300):
        (folder / f"copy-{number:03d}.jpg").write_bytes(b"the same thumbnail" * 100)
    storage = MemoryStorage()

    backup_folder(folder, storage)

    indexes = [key for key in storage.objects if key.startswith(INDEX)]
    blobs = [
        blob.address
        for key in indexes
        for blob in decode_index(AddressKey(), storage.objects[key], key).blobs
    ]
    assert len(blobs) == 1


def test_the_file_list_keeps_the_walk_order_with_large_and_small_files_mixed(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "uploads"
    folder.mkdir()
    for number in range(40):
        size = 3 * 1024 * 1024 if number % 10 == 0 else 1000 + number
        (folder / f"file-{number:02d}.bin").write_bytes(os.urandom(size))

    listing = backup_folder(folder, MemoryStorage())

    _header, entries = read_list(io.BytesIO(listing))
    names = [entry.path for entry in entries]
    assert names == ["uploads", *(f"uploads/file-{number:02d}.bin" for number in range(40))]


def test_a_file_grown_past_one_blob_since_it_was_listed_is_stored_in_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "uploads"
    folder.mkdir()
    content = random.Random(13).randbytes(3 * 1024 * 1024)  # noqa: S311 - test data
    (folder / "grown.bin").write_bytes(content)
    real_lstat = os.lstat

    def listed_small(path: object) -> os.stat_result:
        info = real_lstat(path)  # type: ignore[arg-type]
        if str(path).endswith("grown.bin"):  # as it was when its folder was listed
            return os.stat_result((*tuple(info)[:6], 1000, *tuple(info)[7:10]))
        return info

    monkeypatch.setattr(os, "lstat", listed_small)
    storage = MemoryStorage()
    listing = backup_folder(folder, storage)

    _header, entries = read_list(io.BytesIO(listing))
    grown = next(entry for entry in entries if entry.path == "uploads/grown.bin")
    assert grown.size == len(content)
    assert grown.sha256 == hashlib.sha256(content).hexdigest()
    assert len(grown.chunks) > 1
    # Its chunks were cut after the walk's end, when the list's last lines went out: stored too.
    stored = {
        blob.address
        for key in storage.objects
        if key.startswith(INDEX)
        for blob in decode_index(AddressKey(), storage.objects[key], key).blobs
    }
    assert set(grown.chunks) <= stored


def test_a_batch_of_small_files_asks_the_destinations_once(tmp_path: Path) -> None:
    asked: list[list[str]] = []

    def lacking(addresses: list[str]) -> list[frozenset[str]]:
        asked.append(addresses)
        return [frozenset({"local"}) if n % 2 else frozenset() for n in range(len(addresses))]

    maker = BlobMaker(AddressKey(), 3, lacking, 1024 * 1024)
    paths: list[str | Path] = []
    for number in range(5):
        path = tmp_path / f"upload-{number}"
        path.write_bytes(f"upload {number}\n".encode() * 100)
        paths.append(path)

    reads = read_batch(maker, paths)

    assert len(asked) == 1
    assert asked[0] == [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths]
    blobs = [read.blobs[0] for read in reads if read is not None]
    assert [blob.compressed is not None for blob in blobs] == [False, True, False, True, False]
    assert [blob.raw is not None for blob in blobs] == [True, False, True, False, True]
    assert [read.content.sha256 for read in reads if read] == asked[0]


def test_a_small_file_read_short_by_its_file_system_is_read_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A network or FUSE mount may return less than asked though the file has more: the read
    # goes on to the end instead of taking the file as shrunk (a torn read, retried, warned).
    path = tmp_path / "upload.pdf"
    content = os.urandom(300_000)
    path.write_bytes(content)
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, size: real_read(fd, min(size, 65_536)))
    maker = BlobMaker(AddressKey(), 3, lambda addresses: [frozenset()] * len(addresses), 1 << 20)

    read, data = maker.read_small(path)

    assert data == content
    assert read.size_bytes == len(content)
    assert not read.is_torn
    assert read.attempts == 1


def whole_cut(content: bytes) -> list[str]:
    """Return the addresses of the chunks a read of ``content`` from its start cuts."""
    chunker = FastCDC(
        CHUNK_AVERAGE_BYTES, min_size=CHUNK_MIN_BYTES, max_size=CHUNK_MAX_BYTES, seed=0
    )
    return [
        AddressKey().address(bytes(chunk.data)) for chunk in chunker.cut_stream(io.BytesIO(content))
    ]


@pytest.mark.parametrize(
    "size",
    [
        READ_BLOCK_BYTES,  # the file's end at a block's end
        READ_BLOCK_BYTES + 1,
        READ_BLOCK_BYTES + CHUNK_MAX_BYTES - 1,
        2 * READ_BLOCK_BYTES + 3 * CHUNK_MAX_BYTES // 2,
    ],
)
def test_a_large_file_read_in_blocks_is_cut_as_one_stream_is(tmp_path: Path, size: int) -> None:
    folder = tmp_path / "uploads"
    folder.mkdir()
    # Random bytes with runs of one byte (cut at the largest chunk) between them.
    generator = random.Random(size)  # noqa: S311 - reproducible test data, not secrets
    pieces, total = [], 0
    while total < size:
        piece = generator.randbytes(generator.randrange(1, 3 * CHUNK_MAX_BYTES))
        pieces += [piece, bytes(generator.randrange(0, CHUNK_MAX_BYTES + CHUNK_MIN_BYTES))]
        total += len(pieces[-2]) + len(pieces[-1])
    content = b"".join(pieces)[:size]
    (folder / "video.bin").write_bytes(content)

    listing = backup_folder(folder, MemoryStorage("local"))

    sha256, chunks = listed_chunks(listing, "uploads/video.bin")
    assert sha256 == hashlib.sha256(content).hexdigest()
    assert chunks == whole_cut(content)


def listed_chunks(listing: bytes, path: str) -> tuple[str, list[str]]:
    """Return the sha256 and the chunks the file list holds for ``path``."""
    _header, entries = read_list(io.BytesIO(listing))
    entry = next(entry for entry in entries if entry.path == path)
    return entry.sha256, entry.chunks


def grow_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: bool
) -> tuple[bytes, bytes, int]:
    """Back up a 12 MiB file, append to it (after changing a byte of its start with ``edit``),
    in place, and back it up again; return its content, the second list and how many chunks
    the second backup cut and addressed."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    large = folder / "video.bin"
    large.write_bytes(random.Random(5).randbytes(12 * 1024 * 1024))  # noqa: S311 - test data
    aged = time.time() - 3600  # a file modified within the last second is not recorded
    os.utime(large, (aged, aged))
    storage, cache = MemoryStorage(), tmp_path / "cache"
    backup_folder(folder, storage, cache)
    inode = large.stat().st_ino
    with large.open("r+b") as stream:
        if edit:
            stream.seek(1000)
            stream.write(b"edited")
        stream.seek(0, os.SEEK_END)
        stream.write(random.Random(6).randbytes(300_000))  # noqa: S311 - test data
    assert large.stat().st_ino == inode
    made: list[int] = []
    real_make = BlobMaker.make

    def counted(maker: BlobMaker, data: bytes) -> Blob:
        made.append(len(data))
        return real_make(maker, data)

    monkeypatch.setattr(BlobMaker, "make", counted)
    listing = backup_folder(folder, storage, cache, "20261130T230100Z-00abce")
    return large.read_bytes(), listing, len(made)


@pytest.mark.parametrize("edit", [False, True], ids=["appended", "edited-and-appended"])
def test_a_grown_file_is_cut_again_from_its_last_chunk_only_when_its_start_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: bool
) -> None:
    content, listing, made = grow_twice(tmp_path, monkeypatch, edit=edit)

    sha256, chunks = listed_chunks(listing, "uploads/video.bin")
    assert sha256 == hashlib.sha256(content).hexdigest()
    assert chunks == whole_cut(content)  # the chunks a whole read cuts, either way
    if edit:
        assert made == len(chunks)  # its start changed: read and cut whole
    else:
        assert made < len(chunks) / 2  # its start's chunks kept, not cut and hashed again
