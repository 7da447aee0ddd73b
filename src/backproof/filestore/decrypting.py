"""A restore's packs decrypted in worker processes, off the restore's own GIL.

pyrage never releases the GIL while it decrypts (a 16 MiB pack in 21-40 ms); in the restore's
process the other threads, which cut, check and write blobs, got it back only between its 8 KiB
reads, so the restore kept about one core busy where restic keeps two. Here a pack goes to one
of a few processes (``decrypt_worker.py``, started on the first pack, each with a shared
buffer of its own) while the restore's threads go on; the thread that asked waits with the GIL
released, and copies the decrypted pack out of the buffer with ``preadv`` (the GIL released
too) into a mapping of its own, as an in-process decryption would have left it. A local
destination's pack is read by the worker itself; any other's bytes are written into the buffer
first. What is checked is unchanged: each blob against its address, each pack against its id
when asked; failures are the ones an in-process decryption raises.
"""

from __future__ import annotations

import os
from pathlib import Path

from backproof.errors import NotFoundError, RestoreError
from backproof.filestore.layout import PackName
from backproof.filestore.pack_buffers import mapped_buffer
from backproof.filestore.pack_workers import PackWorkers, Worker
from backproof.filestore.packs import pack_failure
from backproof.filestore.pipeline import worker_count
from backproof.storage.base import Storage
from backproof.storage.local import LocalStorage, translate_os_error

# Cores per process decrypting: one worker on two cores. Decrypting is a fifth of a 2 GB
# restore's CPU, and a second worker on two cores took the cores from the threads writing
# files (median 23.0 s against 19.1 s with one; docs/performance.md, 2026-12-01 21:39).
CORES_PER_WORKER = 2


class WorkerError(Exception):
    """A worker answered with a failure of the pack (not of the worker): ``kind`` says which."""

    def __init__(self, kind: str, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.errno = errno


class PackDecryptors(PackWorkers):
    """Up to ``count`` worker processes (by default one per ``CORES_PER_WORKER`` cores) that
    decrypt packs with one identity file; a context manager that stops them however the
    restore ends."""

    def __init__(self, identity_data: bytes, count: int | None = None) -> None:
        count = count or max(1, worker_count() // CORES_PER_WORKER)
        super().__init__(
            "backproof.filestore.decrypt_worker",
            identity_data,
            count,
            "decrypting packs",
            RestoreError,
        )

    def decrypt(self, source: bytes | Path, sha256: str | None) -> memoryview:
        """Return a pack's decrypted bytes, from its stored bytes or a local file (checked
        against ``sha256`` first when given).

        Raises WorkerError for the pack (see ``decrypt_worker``'s kinds), RestoreError when a
        worker cannot be started or stops while decrypting.
        """
        worker = self.take()
        try:
            job: dict[str, object] = {"path": None, "size": 0, "sha256": sha256}
            if isinstance(source, Path):
                job["path"] = os.fsdecode(source)
            else:
                _write_all(worker.buffer, source)
                job["size"] = len(source)
            answer = self.ask(worker, job)
            plain = None if "error" in answer else _copied_out(worker, answer)
        except BaseException:
            self.discard(worker)  # in an unknown state (or gone): never handed out again
            raise
        self.give_back(worker)
        if plain is None:
            raise WorkerError(answer["error"], answer["message"], answer.get("errno"))
        return plain


def read_pack_in_worker(
    storage: Storage, pack: PackName, decryptors: PackDecryptors, *, is_checked: bool
) -> memoryview:
    """Return an encrypted pack's decrypted bytes, decrypted by a worker; ``read_pack``'s
    errors for the same failures (a local destination's read error is a StorageError)."""
    where = f"pack {pack.text} on {storage.name}"
    source: bytes | Path
    if isinstance(storage, LocalStorage):
        source = storage.local_path(pack.pack_key)
    else:
        try:
            source = storage.get_bytes(pack.pack_key)
        except NotFoundError as exc:
            raise pack_failure("missing", where) from exc
    try:
        return decryptors.decrypt(source, pack.pack_id if is_checked else None)
    except WorkerError as exc:
        if exc.kind == "read" and isinstance(source, Path):
            raise translate_os_error(OSError(exc.errno, str(exc)), f"reading {source}") from exc
        raise pack_failure(exc.kind, where) from exc


def _copied_out(worker: Worker, answer: dict[str, int]) -> memoryview:
    """Return a copy of the decrypted pack a worker left in its buffer, in a mapping of its
    own (``preadv`` copies with the GIL released)."""
    size_bytes, offset = answer["size"], answer["offset"]
    plain = mapped_buffer(size_bytes)[:size_bytes]
    done = 0
    while done < size_bytes:
        count = os.preadv(worker.buffer, [plain[done:]], offset + done)
        if not count:
            raise RestoreError("a pack's decrypted bytes ended early in the shared buffer")
        done += count
    return plain


def _write_all(descriptor: int, data: bytes) -> None:
    """Put a stored pack at the start of a worker's buffer (``pwrite`` grows the memfd)."""
    view, done = memoryview(data), 0
    while done < len(view):
        done += os.pwrite(descriptor, view[done:], done)
