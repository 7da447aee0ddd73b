"""Streams of parts: compression round trips, checksums, fan-out that survives a bad mirror."""

from __future__ import annotations

import hashlib
import io
import random

import pytest

from backproof.archive.manifest import Part
from backproof.archive.parts import check_part, write_part
from backproof.archive.streams import (
    FanoutWriter,
    PartWriter,
    hash_stream,
    open_decompressor,
)
from backproof.errors import IntegrityError, StorageFullError
from backproof.storage.base import Storage
from backproof.storage.memory import MemoryStorage

TEXT = "Příliš žluťoučký kůň úpěl ďábelské ódy 🐎\n".encode()
PAYLOAD = TEXT * 5000 + random.Random(3).randbytes(300_000)  # noqa: S311 - test data


def write_payload(compression: str, storage: MemoryStorage, key: str = "crm/b1/db") -> PartWriter:
    """Write PAYLOAD through a PartWriter into ``storage`` in uneven chunks; return the writer."""
    writer = PartWriter(compression, FanoutWriter({"memory": storage.open_upload(key)}))
    for start in range(0, len(PAYLOAD), 70_001):
        writer.write(PAYLOAD[start : start + 70_001])
    writer.finish()
    return writer


@pytest.mark.parametrize("compression", ["zstd", "gzip"])
def test_compressed_part_decompresses_to_the_original_bytes(compression: str) -> None:
    storage = MemoryStorage()
    write_payload(compression, storage)

    restored = open_decompressor(compression, io.BytesIO(storage.get_bytes("crm/b1/db"))).read()

    assert restored == PAYLOAD


@pytest.mark.parametrize("compression", ["zstd", "gzip"])
def test_part_checksum_and_size_are_of_the_stored_bytes(compression: str) -> None:
    storage = MemoryStorage()
    writer = write_payload(compression, storage)
    stored = storage.get_bytes("crm/b1/db")

    assert writer.hasher.sha256 == hashlib.sha256(stored).hexdigest()
    assert writer.hasher.size_bytes == len(stored)
    assert writer.raw_size_bytes == len(PAYLOAD)


def test_zstd_compresses_repetitive_text() -> None:
    storage = MemoryStorage()
    writer = write_payload("zstd", storage)

    assert writer.hasher.size_bytes < writer.raw_size_bytes * 0.6


def test_unknown_compression_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown compression"):
        open_decompressor("lz4", io.BytesIO(b""))


def test_hash_stream_returns_sha256_and_size() -> None:
    assert hash_stream(io.BytesIO(b"abc")) == (hashlib.sha256(b"abc").hexdigest(), 3)


def test_fanout_drops_a_failing_destination_and_keeps_the_others() -> None:
    healthy, small = MemoryStorage("healthy"), MemoryStorage("small", capacity_bytes=100)
    storages: dict[str, Storage] = {"healthy": healthy, "small": small}

    _result, outcome = write_part(
        storages,
        "crm/b1/db.sqlite.zst",
        lambda sink: sink.write(PAYLOAD),
        compression="zstd",
        level=None,
        encryptor=None,
        on_progress=lambda _size: None,
    )

    assert list(outcome.failures) == ["small"]
    assert isinstance(outcome.failures["small"], StorageFullError)
    assert "crm/b1/db.sqlite.zst" in healthy.objects
    assert small.objects == {}
    assert small.incomplete == set()


def test_fanout_raises_when_every_destination_fails() -> None:
    storages: dict[str, Storage] = {"small": MemoryStorage("small", capacity_bytes=100)}

    with pytest.raises(StorageFullError):
        write_part(
            storages,
            "crm/b1/db.sqlite.zst",
            lambda sink: sink.write(PAYLOAD),
            compression="zstd",
            level=None,
            encryptor=None,
            on_progress=lambda _size: None,
        )


def test_failing_producer_aborts_every_upload() -> None:
    storage = MemoryStorage()

    def produce(sink: object) -> None:
        raise RuntimeError("dump tool died")

    with pytest.raises(RuntimeError, match="dump tool died"):
        write_part(
            {"memory": storage},
            "crm/b1/db.sqlite.zst",
            produce,
            compression="gzip",
            level=None,
            encryptor=None,
            on_progress=lambda _size: None,
        )
    assert storage.objects == {}
    assert storage.incomplete == set()


def test_progress_reports_the_raw_bytes() -> None:
    sizes: list[int] = []

    write_part(
        {"memory": MemoryStorage()},
        "crm/b1/db",
        lambda sink: sink.write(b"x" * 1234),
        compression="zstd",
        level=None,
        encryptor=None,
        on_progress=sizes.append,
    )

    assert sum(sizes) == 1234


def stored_part(storage: MemoryStorage) -> Part:
    """Write PAYLOAD and return the manifest entry of the part."""
    writer = write_payload("zstd", storage)
    return Part(
        name="db",
        file="db",
        format="x",
        size_bytes=writer.hasher.size_bytes,
        sha256=writer.hasher.sha256,
        compression="zstd",
    )


def test_check_part_passes_for_intact_data() -> None:
    storage = MemoryStorage()
    part = stored_part(storage)

    check_part(storage, "crm/b1/db", part)


def test_check_part_names_the_part_when_one_byte_flipped() -> None:
    storage = MemoryStorage()
    part = stored_part(storage)
    data = bytearray(storage.objects["crm/b1/db"])
    data[len(data) // 2] ^= 0x01
    storage.objects["crm/b1/db"] = bytes(data)

    with pytest.raises(IntegrityError, match=r"part db \(db\) on memory does not match"):
        check_part(storage, "crm/b1/db", part)


def test_check_part_says_truncated_when_bytes_are_missing() -> None:
    storage = MemoryStorage()
    part = stored_part(storage)
    storage.objects["crm/b1/db"] = storage.objects["crm/b1/db"][:-10]

    with pytest.raises(IntegrityError, match="truncated"):
        check_part(storage, "crm/b1/db", part)
