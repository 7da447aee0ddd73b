"""Packs decrypted by worker processes: the same bytes and errors, bounded, always stopped."""

from __future__ import annotations

import os
import secrets
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import zstandard
from pyrage import x25519

from backproof.errors import IntegrityError, RestoreError
from backproof.filestore.addressing import AddressKey, key_id_of
from backproof.filestore.blob_cutting import blob_from_pack
from backproof.filestore.decrypting import PackDecryptors, read_pack_in_worker
from backproof.filestore.layout import PackName
from backproof.filestore.pack_workers import Worker
from backproof.filestore.packs import BlobEntry, Packer
from backproof.storage.base import Storage
from backproof.storage.local import LocalStorage
from backproof.storage.memory import MemoryStorage

SECRET = secrets.token_bytes(32)
KEYED = AddressKey(key_id_of(SECRET), SECRET)
BACKUP_ID = "20261201T210000Z-000abc"
IDENTITY = x25519.Identity.generate()


def identity_data(identity: x25519.Identity = IDENTITY) -> bytes:
    """Return an identity file's bytes."""
    return f"# a comment line\n{identity}\n".encode()


def sealed_pack(storage: Storage, raws: list[bytes]) -> tuple[PackName, list[BlobEntry]]:
    """Store one pack of ``raws`` encrypted to IDENTITY; return it and its blobs."""
    written: list[tuple[PackName, list[BlobEntry]]] = []
    packer = Packer(
        storage, BACKUP_ID, KEYED, [IDENTITY.to_public()], lambda p, b: written.append((p, b))
    )
    for raw in raws:
        packer.add(KEYED.address(raw), zstandard.ZstdCompressor().compress(raw), len(raw))
    packer.flush()
    [(pack, entries)] = written
    return pack, entries


def storages(tmp_path: Path) -> list[Storage]:
    """A local destination (the worker reads the pack's file) and one that hands over bytes."""
    return [LocalStorage("local", tmp_path / "backups"), MemoryStorage()]


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_a_pack_decrypted_by_a_worker_reads_back_blob_by_blob(kind: str, tmp_path: Path) -> None:
    storage = {"local": storages(tmp_path)[0], "memory": storages(tmp_path)[1]}[kind]
    raws = [os.urandom(size) for size in (1, 8191, 8192, 8193, 300_000, 3)]
    pack, entries = sealed_pack(storage, raws)

    with PackDecryptors(identity_data()) as decryptors:
        plain = read_pack_in_worker(storage, pack, decryptors, is_checked=True)
        [worker] = decryptors.started

    assert worker.process.pid != os.getpid()
    assert worker.process.returncode == 0  # stopped and waited for when the block ended
    assert [blob_from_pack(plain, entry, "pack") for entry in entries] == raws


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_a_corrupt_pack_decrypted_by_a_worker_is_refused_naming_it(
    kind: str, tmp_path: Path
) -> None:
    storage = {"local": storages(tmp_path)[0], "memory": storages(tmp_path)[1]}[kind]
    pack, _ = sealed_pack(storage, [b"upload"])
    stored = bytearray(storage.get_bytes(pack.pack_key))
    stored[-1] ^= 1
    if isinstance(storage, LocalStorage):
        storage.local_path(pack.pack_key).write_bytes(stored)
    else:
        storage.put_bytes(pack.pack_key, bytes(stored))

    with PackDecryptors(identity_data()) as decryptors:
        with pytest.raises(IntegrityError, match=f"pack {pack.text} .*does not decrypt"):
            read_pack_in_worker(storage, pack, decryptors, is_checked=False)
        with pytest.raises(IntegrityError, match=f"pack {pack.text} .*does not match its checksum"):
            read_pack_in_worker(storage, pack, decryptors, is_checked=True)
        assert len(decryptors.started) == 1  # a failed pack does not stop its worker


def test_a_missing_local_pack_is_named_missing(tmp_path: Path) -> None:
    storage = LocalStorage("local", tmp_path / "backups")
    pack, _ = sealed_pack(storage, [b"upload"])
    storage.local_path(pack.pack_key).unlink()

    with (
        PackDecryptors(identity_data()) as decryptors,
        pytest.raises(IntegrityError, match=f"pack {pack.text} on local is missing"),
    ):
        read_pack_in_worker(storage, pack, decryptors, is_checked=False)


def test_a_pack_no_identity_opens_is_a_restore_error(tmp_path: Path) -> None:
    storage = MemoryStorage()
    pack, _ = sealed_pack(storage, [b"upload"])
    other = identity_data(x25519.Identity.generate())

    with (
        PackDecryptors(other) as decryptors,
        pytest.raises(RestoreError, match="holds no identity of its recipients"),
    ):
        read_pack_in_worker(storage, pack, decryptors, is_checked=False)


def test_no_more_workers_start_than_the_count_whatever_the_threads() -> None:
    storage = MemoryStorage()
    pack, entries = sealed_pack(storage, [os.urandom(100_000)])
    results: list[bytes] = []

    with PackDecryptors(identity_data(), count=2) as decryptors:

        def read() -> None:
            for _ in range(3):
                plain = read_pack_in_worker(storage, pack, decryptors, is_checked=False)
                results.append(blob_from_pack(plain, entries[0], "pack"))

        # Five threads at once; an assertion failing in one fails the test here.
        with ThreadPoolExecutor(5) as pool:
            for running in [pool.submit(read) for _ in range(5)]:
                running.result()
        started = len(decryptors.started)

    assert len(results) == 15
    assert 1 <= started <= 2


def worker_signalled(
    storage: Storage, pack: PackName, decryptors: PackDecryptors, number: signal.Signals
) -> Worker:
    """Read a pack through ``decryptors`` (one worker), then send ``number`` to the worker."""
    read_pack_in_worker(storage, pack, decryptors, is_checked=False)
    [worker] = decryptors.started
    os.kill(worker.process.pid, number)
    return worker


def test_a_killed_worker_fails_the_read_and_the_next_read_starts_another() -> None:
    storage = MemoryStorage()
    pack, entries = sealed_pack(storage, [b"upload"])

    with PackDecryptors(identity_data(), count=1) as decryptors:
        worker = worker_signalled(storage, pack, decryptors, signal.SIGKILL)
        worker.process.wait()

        with pytest.raises(RestoreError, match="the process decrypting packs stopped"):
            read_pack_in_worker(storage, pack, decryptors, is_checked=False)
        plain = read_pack_in_worker(storage, pack, decryptors, is_checked=False)

    assert blob_from_pack(plain, entries[0], "pack") == b"upload"


def test_workers_are_stopped_when_the_restore_is_interrupted() -> None:
    storage = MemoryStorage()
    pack, _ = sealed_pack(storage, [b"upload"])

    with pytest.raises(KeyboardInterrupt), PackDecryptors(identity_data(), count=2) as decryptors:
        read_pack_in_worker(storage, pack, decryptors, is_checked=False)
        workers = list(decryptors.started)
        raise KeyboardInterrupt

    assert workers
    assert all(worker.process.returncode is not None for worker in workers)
    with pytest.raises(RestoreError, match="stopped"):
        decryptors.decrypt(b"", None)


def test_a_worker_ignores_ctrl_c_and_ends_when_its_restore_closes_it() -> None:
    storage = MemoryStorage()
    pack, _ = sealed_pack(storage, [b"upload"])

    with PackDecryptors(identity_data(), count=1) as decryptors:
        # A terminal's Ctrl-C reaches the worker too.
        worker = worker_signalled(storage, pack, decryptors, signal.SIGINT)
        read_pack_in_worker(storage, pack, decryptors, is_checked=False)

    assert worker.process.returncode == 0
