"""A backup's packs sealed (age-encrypted) in a worker process, off the backup's own GIL.

pyrage never releases the GIL while it encrypts (a 16 MiB pack in about 30 ms), so in the
backup's process the threads reading, cutting, hashing, compressing and uploading got it back
only between its 8 KiB reads: on two cores the first backup with age kept about 1.2 cores busy
where restic keeps 1.7. Here the thread uploading a full pack writes its blobs into the shared
buffer of a worker (``seal_worker.py``, started on the first pack) with ``pwritev``, waits for
the sealed pack with the GIL released, and reads it back with ``pread`` (the GIL released too),
with its sha256, computed in the worker. Same age format, same pack ids; a worker that stops
fails the pack (PipelineError), which is then never uploaded.
"""

from __future__ import annotations

import os

from backproof.errors import PipelineError
from backproof.filestore.pack_workers import PackWorkers
from backproof.filestore.pipeline import worker_count

# Cores per process sealing: one worker on two cores (docs/performance.md, 2026-12-02).
CORES_PER_WORKER = 2
IOV_PIECES = 1024  # Linux's IOV_MAX: the most pieces one pwritev takes
MODULE = "backproof.filestore.seal_worker"


class PackSealers(PackWorkers):
    """Up to ``count`` worker processes (by default one per ``CORES_PER_WORKER`` cores) that
    seal packs to ``recipients`` (their texts, sent over each worker's socket); a context
    manager that stops them however the backup ends."""

    def __init__(self, recipients: list[str], count: int | None = None) -> None:
        count = count or max(1, worker_count() // CORES_PER_WORKER)
        greeting = "".join(f"{text}\n" for text in recipients).encode()
        super().__init__(MODULE, greeting, count, "sealing packs", _pipeline_error)

    def seal(self, pieces: list[bytes]) -> tuple[bytes, str]:
        """Return the pack of ``pieces`` sealed, and its sha256 (``pieces`` consumed).

        Raises PipelineError when a worker cannot be started, stops, or cannot seal.
        """
        worker = self.take()
        try:
            size_bytes = _write_pieces(worker.buffer, pieces)
            pieces.clear()  # the pack is held once, in the buffer, while it is sealed
            answer = self.ask(worker, {"size": size_bytes})
            sealed = None if "error" in answer else _read_all(worker.buffer, answer)
        except BaseException:
            self.discard(worker)  # in an unknown state (or gone): never handed out again
            raise
        self.give_back(worker)
        if sealed is None:
            raise PipelineError(f"cannot seal a pack: {answer['message']}", [MODULE])
        return sealed, str(answer["sha256"])


def _pipeline_error(message: str) -> PipelineError:
    return PipelineError(message, [MODULE])


def _write_pieces(descriptor: int, pieces: list[bytes]) -> int:
    """Put the pieces one after another at the start of a worker's buffer (``pwritev``, the
    GIL released, grows the memfd); return their size."""
    offset = 0
    for start in range(0, len(pieces), IOV_PIECES):
        batch = pieces[start : start + IOV_PIECES]
        wanted = sum(len(piece) for piece in batch)
        done = os.pwritev(descriptor, batch, offset) if wanted else 0
        if done < wanted:  # a short write: the rest of the batch piece by piece
            rest = memoryview(b"".join(batch))[done:]
            while rest:
                count = os.pwrite(descriptor, rest, offset + done)
                rest, done = rest[count:], done + count
        offset += wanted
    return offset


def _read_all(descriptor: int, answer: dict[str, int]) -> bytes:
    """Return the sealed pack a worker left in its buffer (``pread``: one copy, the GIL
    released)."""
    size_bytes, offset = answer["size"], answer["offset"]
    sealed = os.pread(descriptor, size_bytes, offset)
    if len(sealed) == size_bytes:
        return sealed
    parts = [sealed]
    done = len(sealed)
    while done < size_bytes:
        part = os.pread(descriptor, size_bytes - done, offset + done)
        if not part:
            raise PipelineError("a sealed pack ended early in the shared buffer", [MODULE])
        parts.append(part)
        done += len(part)
    return b"".join(parts)
