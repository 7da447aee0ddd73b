"""A restore's files written by worker processes (``restore_worker.py``), off its own GIL.

With age, the restore's threads shared one GIL between pyrage (which never releases it), zstd,
the blobs' HMAC, the files' sha256 and the creates: about 1.4 cores busy where restic keeps 1.6.
Here each batch of files goes, with where its blobs are, to one of a few processes that read
and decrypt the packs, check every blob against its address and write the files through a
``ConfinedTree`` of their own rooted at the restore's root descriptor (handed over, never the
path). A batch goes to the process that was handed its first pack last (so a pack is mostly
decrypted once), else to the one with the fewest bytes waiting. Answers come back in order on
each process's socket (a thread here reads them); the restore settles the digest in the list's
order as before. For a local destination only: the processes read the packs' files
themselves (``file_writers_for``).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections import OrderedDict, deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from backproof.archive.safe_extract import UnsafeMemberError
from backproof.errors import RestoreError
from backproof.filestore.entries import FileEntry
from backproof.filestore.packs import pack_failure
from backproof.filestore.pipeline import worker_count
from backproof.filestore.reader import BlobMissingError, BlobReader
from backproof.filestore.restore_worker import HEADER, receive_message, send_message
from backproof.process.workers import WorkerProcess, start_python_worker, stop_python_worker
from backproof.storage.local import LocalStorage, translate_os_error

STOP_SECONDS = 5.0  # a worker told to stop (its socket closed) ends its batch, then at once
OWNERS_KEPT = 256  # packs remembered with the process last handed them

# What a batch returns for each file: its sha256, or why its blobs cannot be read.
Written = list[str | BlobMissingError]


@dataclass
class _Worker:
    process: WorkerProcess
    channel: socket.socket
    waiting: deque[tuple[Future[Written], int]] = field(default_factory=deque)
    waiting_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: threading.Thread | None = None


class FileWriters:
    """``count`` worker processes (by default one per core) writing files below ``root_fd``
    for ``reader``'s local destination; a context manager that stops them however the
    restore ends."""

    def __init__(
        self,
        reader: BlobReader,
        storage: LocalStorage,
        identity_data: bytes,
        root_fd: int,
        count: int | None = None,
    ) -> None:
        self.reader = reader
        self.storage = storage
        self.count = count or worker_count()
        self.owners: OrderedDict[str, _Worker] = OrderedDict()
        self.workers: list[_Worker] = []
        settings = {
            "identity": identity_data.hex(),
            "secret": reader.key.secret.hex() if reader.key.secret is not None else None,
            "digest_keyed": reader.key.is_digest_keyed,
        }
        try:
            for _ in range(self.count):
                self.workers.append(_start(settings, root_fd))
        except BaseException:
            self.close()
            raise
        for worker in self.workers:
            worker.answers = threading.Thread(
                target=self._answers, args=(worker,), name="backproof-restore-answers", daemon=True
            )
            worker.answers.start()

    def __enter__(self) -> FileWriters:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def submit(self, batch: list[FileEntry]) -> Future[Written]:
        """Hand a batch of files to the workers, cut where the pack of a file's first blob
        changes (each part to the worker that has that pack); return what they wrote, in the
        batch's order (RestoreError, OSError or UnsafeMemberError from the future when the
        restore cannot go on)."""
        located = self.reader.locate_files(batch)
        unreadable: dict[int, BlobMissingError] = {}
        parts: list[_Part] = []
        for number, entry in enumerate(batch):
            paths: dict[str, str] = {}
            try:
                chunks = [
                    [address, self._copies(address, located, paths)] for address in entry.chunks
                ]
            except BlobMissingError as exc:
                unreadable[number] = exc
                continue
            first = chunks[0][1][0][0] if chunks else None
            if not parts or (first is not None and parts[-1].first not in (None, first)):
                parts.append(_Part(first))
            part = parts[-1]
            part.first = part.first or first
            part.numbers.append(number)
            part.paths.update(paths)
            part.size += entry.size
            sha256 = self.reader.known_sha256(entry)
            part.files.append([entry.path, entry.mode, entry.mtime_ns, sha256, chunks])
        written = [(part.numbers, self._send(part)) for part in parts]
        return _combined(written, unreadable, len(batch))

    def _send(self, part: _Part) -> Future[Written]:
        worker = self._choose(part.first)
        if part.first is not None:
            self.owners[part.first] = worker
            self.owners.move_to_end(part.first)
            while len(self.owners) > OWNERS_KEPT:
                self.owners.popitem(last=False)
        written: Future[Written] = Future()
        written.set_running_or_notify_cancel()
        with worker.lock:
            worker.waiting.append((written, part.size))
            worker.waiting_bytes += part.size
        try:
            send_message(worker.channel, {"packs": part.paths, "files": part.files})
        except OSError as exc:
            raise self._stopped(worker) from exc
        return written

    def close(self) -> None:
        """Stop every worker (its socket closed: it ends after its batch) and wait for them."""
        workers, self.workers = self.workers, []
        for worker in workers:
            with contextlib.suppress(OSError):  # already gone
                worker.channel.shutdown(socket.SHUT_RDWR)
        for worker in workers:
            try:
                stop_python_worker(worker.process, STOP_SECONDS)
            finally:
                if worker.answers is not None:
                    worker.answers.join()
                worker.channel.close()

    def _copies(self, address: str, located: Any, paths: dict[str, str]) -> list[list[Any]]:
        copies = []
        for pack, entry in self.reader.locations(address, located):
            if pack.text not in paths:
                paths[pack.text] = os.fsdecode(self.storage.local_path(pack.pack_key))
            copies.append([pack.text, entry.offset, entry.length, entry.raw_length])
        return copies

    def _choose(self, first: str | None) -> _Worker:
        """The worker last handed the pack ``first``, else the one with the least waiting."""
        owner = self.owners.get(first) if first is not None else None
        if owner is not None and owner in self.workers:
            return owner
        return min(self.workers, key=lambda worker: worker.waiting_bytes)

    def _answers(self, worker: _Worker) -> None:
        """Settle the worker's batches with its answers, in order; fail them all when it stops."""
        failure: BaseException | None = None
        try:
            while (answer := receive_message(worker.channel)) is not None:
                with worker.lock:
                    written, size = worker.waiting.popleft()
                    worker.waiting_bytes -= size
                self._settle(written, answer)
        except (OSError, ValueError) as exc:
            failure = exc
        with worker.lock:
            waiting, worker.waiting = list(worker.waiting), deque()
        for written, _size in waiting:
            error = self._stopped(worker)
            error.__cause__ = failure
            written.set_exception(error)

    def _settle(self, written: Future[Written], answer: dict[str, Any]) -> None:
        if "fatal" in answer:
            written.set_exception(self._fatal(answer))
            return
        results: Written = []
        for item in answer["written"]:
            if isinstance(item, str):
                results.append(item)
            elif item[0] == "blob":
                results.append(BlobMissingError(item[1], ""))
            else:
                where = f"pack {item[1]} on {self.storage.name}"
                results.append(BlobMissingError(str(pack_failure(item[0], where)), item[1]))
        written.set_result(results)

    def _fatal(self, answer: dict[str, Any]) -> Exception:
        kind, message, number = answer["fatal"], answer["message"], answer["errno"]
        if kind == "unsafe":
            return UnsafeMemberError(message)
        if kind == "write":
            return OSError(number, message)
        if kind == "read":
            return translate_os_error(OSError(number, os.strerror(number)), f"reading {message}")
        return pack_failure("identity", f"pack {message} on {self.storage.name}")

    def _stopped(self, worker: _Worker) -> RestoreError:
        code = worker.process.poll()
        return RestoreError(f"the process writing restored files stopped (exit code {code})")


@dataclass
class _Part:
    """Consecutive files of a batch whose first blobs are in one pack (``first``)."""

    first: str | None
    numbers: list[int] = field(default_factory=list)
    files: list[list[Any]] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)
    size: int = 0


def _combined(
    parts: list[tuple[list[int], Future[Written]]],
    unreadable: dict[int, BlobMissingError],
    total: int,
) -> Future[Written]:
    """Return the results of a batch's parts and of its files found in no pack, in order,
    once every part is written."""
    answered: Future[Written] = Future()
    answered.set_running_or_notify_cancel()
    remaining = [len(parts)]
    lock = threading.Lock()

    def settle(_done: Future[Written]) -> None:
        with lock:
            remaining[0] -= 1
            if remaining[0]:
                return
        results: dict[int, str | BlobMissingError] = dict(unreadable)
        for numbers, part in parts:
            error = part.exception()
            if error is not None:
                answered.set_exception(error)
                return
            results.update(zip(numbers, part.result(), strict=True))
        answered.set_result([results[number] for number in range(total)])

    if not parts:
        remaining[0] = 1
        settle(answered)
    for _numbers, part in parts:
        part.add_done_callback(settle)
    return answered


def _start(settings: dict[str, Any], root_fd: int) -> _Worker:
    """Start a worker; hand it the identity file, the address key and the root's descriptor
    (never through argv or the environment)."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with theirs:
            process = start_python_worker("backproof.filestore.restore_worker", theirs.fileno())
    except OSError as exc:
        mine.close()
        raise RestoreError(f"cannot start a process to write restored files: {exc}") from exc
    worker = _Worker(process, mine)
    data = json.dumps(settings).encode()
    try:
        socket.send_fds(mine, [HEADER.pack(len(data)) + data], [root_fd])
    except OSError as exc:
        mine.close()
        stop_python_worker(process, STOP_SECONDS)
        raise RestoreError(f"cannot start a process to write restored files: {exc}") from exc
    return worker
