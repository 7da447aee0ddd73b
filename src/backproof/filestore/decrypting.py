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

import json
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backproof.errors import NotFoundError, RestoreError
from backproof.filestore.decrypt_worker import MESSAGE_BYTES
from backproof.filestore.layout import PackName
from backproof.filestore.pack_buffers import mapped_buffer
from backproof.filestore.packs import pack_failure
from backproof.filestore.pipeline import worker_count
from backproof.process.workers import WorkerProcess, start_python_worker, stop_python_worker
from backproof.storage.base import Storage
from backproof.storage.local import LocalStorage, translate_os_error

# Cores per process decrypting: one worker on two cores. Decrypting is a fifth of a 2 GB
# restore's CPU, and a second worker on two cores took the cores from the threads writing
# files (median 23.0 s against 19.1 s with one; docs/performance.md, 2026-12-01 21:39).
CORES_PER_WORKER = 2
STOP_SECONDS = 5.0  # a worker told to stop (its socket closed) ends at once unless it is stuck


class WorkerError(Exception):
    """A worker answered with a failure of the pack (not of the worker): ``kind`` says which."""

    def __init__(self, kind: str, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.errno = errno


@dataclass
class _Worker:
    process: WorkerProcess
    channel: socket.socket
    buffer: int  # the memfd shared with the process

    def stop(self) -> None:
        """Stop the process (its socket closed, killed if it does not end) and wait for it."""
        self.channel.close()
        try:
            stop_python_worker(self.process, STOP_SECONDS)
        finally:
            os.close(self.buffer)


class PackDecryptors:
    """Up to ``count`` worker processes (by default one per ``CORES_PER_WORKER`` cores) that
    decrypt packs with one identity file; a context manager that stops them however the
    restore ends."""

    def __init__(self, identity_data: bytes, count: int | None = None) -> None:
        self.identity_data = identity_data
        self.count = count or max(1, worker_count() // CORES_PER_WORKER)
        self.idle: list[_Worker] = []
        self.started: list[_Worker] = []
        self.changed = threading.Condition()
        self.is_closed = False

    def __enter__(self) -> PackDecryptors:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def decrypt(self, source: bytes | Path, sha256: str | None) -> memoryview:
        """Return a pack's decrypted bytes, from its stored bytes or a local file (checked
        against ``sha256`` first when given).

        Raises WorkerError for the pack (see ``decrypt_worker``'s kinds), RestoreError when a
        worker cannot be started or stops while decrypting.
        """
        worker = self._take()
        try:
            answer = self._ask(worker, source, sha256)
            plain = None if "error" in answer else _copied_out(worker.buffer, answer)
        except BaseException:
            self._discard(worker)  # in an unknown state (or gone): never handed out again
            raise
        with self.changed:
            self.idle.append(worker)
            self.changed.notify()
        if plain is None:
            raise WorkerError(answer["error"], answer["message"], answer.get("errno"))
        return plain

    def close(self) -> None:
        """Stop every worker and wait for them."""
        with self.changed:
            self.is_closed = True
            workers, self.started, self.idle = self.started, [], []
            self.changed.notify_all()
        for worker in workers:
            worker.stop()

    def _ask(self, worker: _Worker, source: bytes | Path, sha256: str | None) -> dict[str, Any]:
        job: dict[str, object] = {"path": None, "size": 0, "sha256": sha256}
        if isinstance(source, Path):
            job["path"] = os.fsdecode(source)
        else:
            _write_all(worker.buffer, source)
            job["size"] = len(source)
        cause: OSError | None = None
        try:
            worker.channel.send(json.dumps(job).encode())
            message = worker.channel.recv(MESSAGE_BYTES)
        except OSError as exc:
            message, cause = b"", exc
        if not message:
            stopped = f"the process decrypting packs stopped (exit code {worker.process.poll()})"
            raise RestoreError(stopped) from cause
        answer: dict[str, Any] = json.loads(message)
        return answer

    def _take(self) -> _Worker:
        """Return an idle worker, starting one while fewer than ``count`` run."""
        with self.changed:
            while not self.idle and len(self.started) >= self.count and not self.is_closed:
                self.changed.wait()
            if self.is_closed:
                raise RestoreError("the restore's pack decryption was stopped")
            if self.idle:
                return self.idle.pop()
            worker = _start(self.identity_data)
            self.started.append(worker)
            return worker

    def _discard(self, worker: _Worker) -> None:
        with self.changed:
            if worker in self.started:
                self.started.remove(worker)
            self.changed.notify()  # a thread waiting for a worker may start another
        worker.stop()


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


def _start(identity_data: bytes) -> _Worker:
    """Start a worker and hand it the identity file and its buffer (never through argv)."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    buffer = os.memfd_create("backproof-pack", os.MFD_CLOEXEC)
    try:
        with theirs:
            process = start_python_worker("backproof.filestore.decrypt_worker", theirs.fileno())
    except OSError as exc:
        mine.close()
        os.close(buffer)
        raise RestoreError(f"cannot start a process to decrypt packs: {exc}") from exc
    worker = _Worker(process, mine, buffer)
    try:
        socket.send_fds(mine, [identity_data], [buffer])
    except OSError as exc:
        worker.stop()
        raise RestoreError(f"cannot start a process to decrypt packs: {exc}") from exc
    return worker


def _copied_out(buffer: int, answer: dict[str, Any]) -> memoryview:
    """Return a copy of the decrypted pack a worker left in its buffer, in a mapping of its
    own (``preadv`` copies with the GIL released)."""
    size_bytes, offset = answer["size"], answer["offset"]
    plain = mapped_buffer(size_bytes)[:size_bytes]
    done = 0
    while done < size_bytes:
        count = os.preadv(buffer, [plain[done:]], offset + done)
        if not count:
            raise RestoreError("a pack's decrypted bytes ended early in the shared buffer")
        done += count
    return plain


def _write_all(descriptor: int, data: bytes) -> None:
    """Put a stored pack at the start of a worker's buffer (``pwrite`` grows the memfd)."""
    view, done = memoryview(data), 0
    while done < len(view):
        done += os.pwrite(descriptor, view[done:], done)
