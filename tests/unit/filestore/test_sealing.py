"""Packs sealed by worker processes: the same age format and ids, bounded, always stopped."""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import zstandard
from pyrage import x25519

from backproof.errors import PipelineError
from backproof.filestore.addressing import AddressKey, key_id_of
from backproof.filestore.blob_cutting import blob_from_pack
from backproof.filestore.layout import PackName
from backproof.filestore.pack_workers import Worker
from backproof.filestore.packs import BlobEntry, Packer, read_pack
from backproof.filestore.sealing import IOV_PIECES, PackSealers
from backproof.storage.base import Storage
from backproof.storage.local import LocalStorage
from backproof.storage.memory import MemoryStorage
from worker_processes import workers_running

SECRET = secrets.token_bytes(32)
KEYED = AddressKey(key_id_of(SECRET), SECRET)
BACKUP_ID = "20261202T003000Z-000abc"
IDENTITY = x25519.Identity.generate()
RECIPIENT = str(IDENTITY.to_public())


def packer_of(
    storage: Storage, sealers: PackSealers, written: list[tuple[PackName, list[BlobEntry]]]
) -> Packer:
    """Return a keyed packer sealing through ``sealers``, recording its packs in ``written``."""
    packer = Packer(
        storage,
        BACKUP_ID,
        KEYED,
        [IDENTITY.to_public()],
        lambda pack, blobs: written.append((pack, blobs)),
    )
    packer.sealers = sealers
    return packer


def store_pack(packer: Packer, raws: list[bytes]) -> None:
    """Put ``raws`` in the open pack and upload it."""
    for raw in raws:
        packer.add(KEYED.address(raw), zstandard.ZstdCompressor().compress(raw), len(raw))
    packer.flush()


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_a_pack_sealed_by_a_worker_restores_to_the_same_bytes(kind: str, tmp_path: Path) -> None:
    storage = LocalStorage("local", tmp_path / "backups") if kind == "local" else MemoryStorage()
    # More blobs than one pwritev takes, of sizes around age's 64 KiB chunks.
    raws = [os.urandom(size) for size in (1, 65535, 65536, 65537, 300_000, 0)]
    raws += [os.urandom(40) for _ in range(IOV_PIECES + 5)]
    written: list[tuple[PackName, list[BlobEntry]]] = []

    with PackSealers([RECIPIENT]) as sealers:
        store_pack(packer_of(storage, sealers, written), raws)
        [worker] = sealers.started

    [(pack, entries)] = written
    stored = storage.get_bytes(pack.pack_key)
    assert worker.process.pid != os.getpid()
    assert worker.process.returncode == 0  # stopped and waited for when the block ended
    assert stored.startswith(b"age-encryption.org/v1\n")
    assert pack.pack_id == hashlib.sha256(stored).hexdigest()
    plain = read_pack(storage, pack, lambda: [IDENTITY], is_checked=True)
    assert [blob_from_pack(plain, entry, "pack") for entry in entries] == raws


def test_the_recipients_reach_the_worker_through_neither_argv_nor_environment() -> None:
    written: list[tuple[PackName, list[BlobEntry]]] = []

    with PackSealers([RECIPIENT]) as sealers:
        store_pack(packer_of(MemoryStorage(), sealers, written), [b"upload"])
        [worker] = sealers.started
        proc = Path(f"/proc/{worker.process.pid}")
        argv, environment = (proc / "cmdline").read_bytes(), (proc / "environ").read_bytes()

    assert written
    assert RECIPIENT.encode() not in argv
    assert RECIPIENT.encode() not in environment


def test_no_more_sealing_workers_start_than_the_count_whatever_the_threads() -> None:
    written: list[tuple[PackName, list[BlobEntry]]] = []
    raw = os.urandom(100_000)

    with PackSealers([RECIPIENT], count=2) as sealers:

        def seal() -> None:
            for _ in range(3):
                sealed, sha256 = sealers.seal([zstandard.ZstdCompressor().compress(raw)])
                written.append((PackName(BACKUP_ID, sha256), []))
                assert hashlib.sha256(sealed).hexdigest() == sha256

        # Five threads at once; an assertion failing in one fails the test here.
        with ThreadPoolExecutor(5) as pool:
            for running in [pool.submit(seal) for _ in range(5)]:
                running.result()
        started = len(sealers.started)

    assert len(written) == 15
    assert 1 <= started <= 2


def killed(worker: Worker) -> None:
    """Kill a worker as the system would (its pid), and reap it."""
    os.kill(worker.process.pid, signal.SIGKILL)
    worker.process.wait()


def test_a_killed_sealing_worker_fails_its_pack_which_is_never_uploaded() -> None:
    storage = MemoryStorage()
    written: list[tuple[PackName, list[BlobEntry]]] = []

    with PackSealers([RECIPIENT], count=1) as sealers, ThreadPoolExecutor(2) as uploader:
        packer = packer_of(storage, sealers, written)
        packer.uploader = uploader
        store_pack(packer, [b"first"])
        packer.wait()
        [worker] = sealers.started
        killed(worker)

        store_pack(packer, [b"second"])
        with pytest.raises(
            PipelineError, match=r"the process sealing packs stopped \(exit code -9\)"
        ):
            packer.wait()
        assert sealers.started == []  # the dead worker is never handed out again

    [(first, _)] = written
    assert set(storage.objects) == {first.pack_key, first.index_key}  # no index without its pack


def test_sealing_workers_are_stopped_when_the_backup_is_interrupted() -> None:
    with pytest.raises(KeyboardInterrupt), PackSealers([RECIPIENT], count=2) as sealers:
        sealers.seal([b"upload"])
        workers = list(sealers.started)
        raise KeyboardInterrupt

    assert workers
    assert all(worker.process.returncode is not None for worker in workers)
    assert workers_running() == set()
    with pytest.raises(PipelineError, match="stopped"):
        sealers.seal([b"upload"])


def test_a_sealing_worker_ignores_ctrl_c_and_ends_when_its_backup_closes_it() -> None:
    with PackSealers([RECIPIENT], count=1) as sealers:
        sealers.seal([b"upload"])
        [worker] = sealers.started
        os.kill(worker.process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches it too
        sealed, _sha256 = sealers.seal([b"again"])

    assert worker.process.returncode == 0
    assert sealed.startswith(b"age-encryption.org/v1\n")


def test_a_worker_stopped_twice_closes_no_file_opened_meanwhile(tmp_path: Path) -> None:
    with PackSealers([RECIPIENT], count=1) as sealers:
        worker = sealers.take()
        sealers.close()  # the pool closed while a thread held the worker
        opened = [
            os.open(tmp_path / f"file-{number}", os.O_CREAT | os.O_RDWR) for number in range(4)
        ]
        try:
            sealers.discard(worker)  # that thread, failing, discards it

            for descriptor in opened:
                os.fstat(descriptor)  # still open: not taken for the worker's buffer
        finally:
            for descriptor in opened:
                os.close(descriptor)
