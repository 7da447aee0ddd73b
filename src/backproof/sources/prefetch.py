"""Reading a dump tool's output ahead, so the tool never waits while backproof works.

A pipe holds 64 KiB: without reading ahead, the dump tool stops each time backproof compresses,
hashes, uploads or scans a chunk, and the backup takes the sum of both instead of the longer.
A thread reads up to ``depth`` chunks ahead into a bounded queue (memory stays flat). A stream
that decodes as it is read (a stored part: checked, decrypted, decompressed in C without the
GIL) is decoded in that thread while the caller writes the bytes on: a restore's spool or
pg_restore's input takes the longer of both, not the sum.

A dump started before its backup is set up (``jobs.early_dump``) writes into a ``GatedWriter``:
until the backup attaches its part's writer, the reading thread holds the tool's raw output
in memory (no Python work per row: the tool and the server run at full
speed while the backup's set-up has the interpreter), up to ``SPOOL_BYTES``; then the caller
gets the spooled chunks first and the rest as it comes. A gate that is cancelled instead ends
the stream with DumpCancelledError (the pipeline then kills the tool).

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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from backproof.archive.streams import Writer

logger = logging.getLogger(__name__)

DEPTH_CHUNKS = 8
PIPE_BYTES = 1024 * 1024
PUT_WAIT_SECONDS = 0.1
# What a gate's spool holds in memory before the tool waits for the writer: bounded, so memory
# stays flat, and never on disk (no plaintext copy of the dump before it is encrypted).
SPOOL_BYTES = 32 * 1024 * 1024
_END = b""


class DumpCancelledError(Exception):
    """The backup ended before it took its early dump: the dump stops, its tool is killed."""


class GatedWriter:
    """The writer of a dump started early: its stream is held in a spool until ``attach``.

    ``flowing`` is set once the tool's first bytes were read (or the dump ended before).
    """

    def __init__(self) -> None:
        self.flowing = threading.Event()
        self._settled = threading.Event()
        self._target: Writer | None = None

    def attach(self, target: Writer) -> None:
        """Let the held stream flow, spooled bytes first, into ``target``."""
        self._target = target
        self._settled.set()

    def cancel(self) -> None:
        """End the held stream (or the flowing one) with DumpCancelledError."""
        self._target = None
        self._settled.set()

    def wait(self, timeout_seconds: float) -> bool:
        """Wait until attached or cancelled; return False after ``timeout_seconds`` without."""
        return self._settled.wait(timeout_seconds)

    @property
    def is_held(self) -> bool:
        """Return True until the writer is attached or the dump cancelled."""
        return not self._settled.is_set()

    @property
    def is_attached(self) -> bool:
        """Return True once attached (and not cancelled since)."""
        return self._settled.is_set() and self._target is not None

    def write(self, data: bytes, /) -> int:
        """Write ``data`` into the attached writer; raise DumpCancelledError when there is none."""
        target = self._target
        if target is None:
            raise DumpCancelledError("the backup stopped before it took the dump")
        return target.write(data)


def gate_of(sink: Writer | None) -> GatedWriter | None:
    """Return ``sink`` when it holds its stream until attached, else None."""
    return sink if isinstance(sink, GatedWriter) else None


def read_ahead(
    stream: BinaryIO,
    chunk_bytes: int,
    depth: int = DEPTH_CHUNKS,
    gate: GatedWriter | None = None,
) -> Iterator[bytes]:
    """Yield the chunks of ``stream`` as a thread reads them ahead; re-raise its read error.

    With ``gate``, the stream is spooled while the gate holds it (see the module's text).
    When the caller stops early, the thread stops at its next chunk or when the stream ends
    (the pipeline kills the tool, which ends it); it is never waited for, so a tool that hangs
    cannot hang the caller.
    """
    widen_pipe(stream)
    chunks: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            if gate is not None and _held(stream, chunk_bytes, gate, chunks, stop):
                return
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


@dataclass
class _Spooled:
    """What a held stream left: its spool, the bytes in it, a chunk it could not take, and
    whether the stream ended."""

    spool: list[bytes] = field(default_factory=list)
    size_bytes: int = 0
    pending: bytes = b""
    ended: bool = False


def _held(
    stream: BinaryIO,
    chunk_bytes: int,
    gate: GatedWriter,
    chunks: queue.Queue[bytes | BaseException],
    stop: threading.Event,
) -> bool:
    """Spool ``stream`` while ``gate`` holds it, then queue what was spooled; return True when
    the stream ended meanwhile (or the gate was cancelled: DumpCancelledError is queued)."""
    spooled = _Spooled()
    try:
        _spool_while_held(stream, chunk_bytes, gate, stop, spooled)
        gate.flowing.set()
        while not gate.wait(PUT_WAIT_SECONDS):
            if stop.is_set():
                return True
        if not gate.is_attached:
            _put(chunks, DumpCancelledError("the backup stopped before it took the dump"), stop)
            return True
        _replay(spooled, chunk_bytes, chunks, stop)
    finally:
        spooled.spool.clear()
    if spooled.pending:
        _put(chunks, spooled.pending, stop)
    if spooled.ended:
        _put(chunks, _END, stop)
    return spooled.ended


def _spool_while_held(
    stream: BinaryIO,
    chunk_bytes: int,
    gate: GatedWriter,
    stop: threading.Event,
    spooled: _Spooled,
) -> None:
    while gate.is_held and not stop.is_set():
        chunk = stream.read(chunk_bytes)
        gate.flowing.set()
        if chunk == _END:
            spooled.ended = True
            return
        written = (
            _spool_write(spooled, chunk) if spooled.size_bytes + len(chunk) <= SPOOL_BYTES else 0
        )
        if written < len(chunk):  # the spool is full: the tool waits for the writer
            spooled.pending = chunk[written:]
            return


def _spool_write(spooled: _Spooled, chunk: bytes) -> int:
    """Keep ``chunk`` in the spool (memory); return its length."""
    spooled.spool.append(chunk)
    spooled.size_bytes += len(chunk)
    return len(chunk)


def _replay(
    spooled: _Spooled,
    _chunk_bytes: int,
    chunks: queue.Queue[bytes | BaseException],
    stop: threading.Event,
) -> None:
    while spooled.spool and not stop.is_set():
        _put(chunks, spooled.spool.pop(0), stop)


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
