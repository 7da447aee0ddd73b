"""Reading a dump tool's output ahead, so the tool never waits while backproof works.

A pipe holds 64 KiB: without reading ahead, the dump tool stops each time backproof compresses,
hashes, uploads or scans a chunk, and the backup takes the sum of both instead of the longer.
A thread reads up to ``depth`` chunks ahead into a bounded queue (memory stays flat). A stream
that decodes as it is read (a stored part: checked, decrypted, decompressed in C without the
GIL) is decoded in that thread while the caller writes the bytes on: a restore's spool or
pg_restore's input takes the longer of both, not the sum.

A dump started before its backup is set up (``jobs.early_dump``) is compressed as it is read,
and its compressed output is held in memory by a ``HeldWriter`` until the backup attaches the
part's writer, up to ``SPOOL_BYTES`` (past that the tool waits). A writer that is cancelled
instead raises DumpCancelledError (the pipeline then kills the tool).

The reading thread needs the GIL after every read, and may wait for it up to the interpreter's
switch interval (5 ms) while the caller scans or hashes in C. On Linux the pipe is widened to
1 MiB so that the tool can go on writing meanwhile (64 KiB last it about half a millisecond).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from backproof.archive.streams import Writer

logger = logging.getLogger(__name__)

DEPTH_CHUNKS = 8
PIPE_BYTES = 1024 * 1024
PUT_WAIT_SECONDS = 0.1
# What a HeldWriter keeps in memory before the tool waits for the writer: bounded, so memory
# stays flat, and never on disk (no plaintext copy of the dump before it is encrypted).
SPOOL_BYTES = 32 * 1024 * 1024
_END = b""


class DumpCancelledError(Exception):
    """The backup ended before it took its early dump: the dump stops, its tool is killed."""


class HeldWriter:
    """Bytes written before their writer exists, held in memory until ``attach``.

    A dump started early compresses as it reads (``jobs.early_dump``) and its compressed output
    waits here for the part's writer: at most ``SPOOL_BYTES`` of it (about six times as much of
    the dump), or the ``share`` of it given to each of two streams, past which the writer
    waits. Never on disk; after ``cancel`` every write raises DumpCancelledError (the pipeline
    then kills the tool).
    """

    def __init__(self, share: float = 1.0) -> None:
        # The part of SPOOL_BYTES this writer may hold (read when it is made: tests lower it).
        self._limit_bytes = int(SPOOL_BYTES * share)
        self._changed = threading.Condition()
        self._held: list[bytes] = []
        self._size_bytes = 0
        self._target: Writer | None = None
        self._is_cancelled = False

    def write(self, data: bytes, /) -> int:
        """Hold ``data`` (waiting while the memory is full), or pass it on once attached."""
        with self._changed:
            while self._is_full(len(data)):
                self._changed.wait()
            if self._is_cancelled:
                raise DumpCancelledError("the backup stopped before it took the dump")
            target = self._target
            if target is None:
                self._held.append(bytes(data))
                self._size_bytes += len(data)
                return len(data)
        return target.write(data)

    def attach(self, target: Writer) -> None:
        """Write what was held into ``target``, then let every later write through."""
        with self._changed:  # the writer waits until what it wrote before is passed on
            held, self._held, self._size_bytes = self._held, [], 0
            for chunk in held:
                target.write(chunk)
            self._target = target
            self._changed.notify_all()

    def cancel(self) -> None:
        """Drop what is held; every write from now on raises DumpCancelledError."""
        with self._changed:
            self._is_cancelled = True
            self._held.clear()
            self._changed.notify_all()

    def _is_full(self, size_bytes: int) -> bool:
        held = self._target is None and not self._is_cancelled and self._size_bytes > 0
        return held and self._size_bytes + size_bytes > self._limit_bytes


def read_ahead(
    stream: BinaryIO,
    chunk_bytes: int,
    depth: int = DEPTH_CHUNKS,
) -> Iterator[bytes]:
    """Yield the chunks of ``stream`` as a thread reads them ahead; re-raise its read error.
    When the caller stops early, the thread stops at its next chunk or when the stream ends
    (the pipeline kills the tool, which ends it); it is never waited for, so a tool that hangs
    cannot hang the caller.
    """
    widen_pipe(stream)
    chunks: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                chunk = stream.read(chunk_bytes)
                _put(chunks, chunk, stop)
                if chunk == _END:
                    return
        # Whatever the read raises is raised in the caller (a decoding stream raises its own
        # errors: a part that fails its checksum; ValueError: the stream was closed under us).
        except Exception as error:
            _put(chunks, error, stop)

    reader = threading.Thread(target=read, name="dump read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = chunks.get()
            if isinstance(item, BaseException):
                raise item
            if item == _END:
                return
            yield item
    finally:
        stop.set()


def widen_pipe(stream: BinaryIO, size_bytes: int = PIPE_BYTES) -> None:
    """Ask Linux for a pipe buffer of ``size_bytes``; keep the one there is when refused."""
    if sys.platform != "linux":
        return
    import fcntl  # noqa: PLC0415 - Unix only

    # Not a pipe, no descriptor (a decoding stream has none), or over the user's pipe quota:
    # the default buffer serves.
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, size_bytes)


def _put(
    chunks: queue.Queue[bytes | BaseException], item: bytes | BaseException, stop: threading.Event
) -> None:
    while not stop.is_set():
        try:
            chunks.put(item, timeout=PUT_WAIT_SECONDS)
        except queue.Full:
            continue
        return
