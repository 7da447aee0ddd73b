"""A bounded pipe of byte chunks between two threads, and file-like ends for libraries.

pyrage encrypts and decrypts file-like objects in one call (``encrypt_io(reader, writer, …)``),
while our parts are pushed through writers and pulled through readers. A thread runs the call;
``ChunkPipe`` carries the bytes between it and the caller with at most ``max_bytes`` (plus one
chunk) held, so memory stays flat. Either side can ``break_pipe()``: the other side's next call
raises BrokenPipeError, which is how an abort stops the thread.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Protocol

DEFAULT_PIPE_BYTES = 4 * 1024 * 1024


class ChunkPipe:
    """A bounded FIFO of bytes: ``put`` blocks while full, ``get`` while empty."""

    def __init__(self, max_bytes: int = DEFAULT_PIPE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.chunks: deque[memoryview] = deque()
        self.held_bytes = 0
        self.finished = False
        self.broken = False
        self.condition = threading.Condition()

    def put(self, data: bytes) -> None:
        """Append ``data``; wait while the pipe is full. BrokenPipeError once broken."""
        if not data:
            return
        with self.condition:
            while self.held_bytes >= self.max_bytes and not self.broken:
                self.condition.wait()
            if self.broken:
                raise BrokenPipeError("the other end of the pipe stopped")
            self.chunks.append(memoryview(data))
            self.held_bytes += len(data)
            self.condition.notify_all()

    def get(self, size: int) -> bytes:
        """Return up to ``size`` bytes; b"" once finished and drained. BrokenPipeError if broken."""
        with self.condition:
            while not self.chunks and not self.finished and not self.broken:
                self.condition.wait()
            if self.broken:
                raise BrokenPipeError("the other end of the pipe stopped")
            if not self.chunks:
                return b""
            head = self.chunks[0]
            taken = bytes(head[:size])
            if len(head) <= size:
                self.chunks.popleft()
            else:
                self.chunks[0] = head[size:]
            self.held_bytes -= len(taken)
            self.condition.notify_all()
            return taken

    def finish(self) -> None:
        """Say no more bytes come: ``get`` returns b"" once the rest is read."""
        with self.condition:
            self.finished = True
            self.condition.notify_all()

    def break_pipe(self) -> None:
        """Stop both ends now and drop what is held."""
        with self.condition:
            self.broken = True
            self.chunks.clear()
            self.held_bytes = 0
            self.condition.notify_all()


class PipeReadEnd:
    """The pipe as a file to read, for a library that calls ``read(size)``."""

    def __init__(self, pipe: ChunkPipe) -> None:
        self.pipe = pipe

    def read(self, size: int = -1, /) -> bytes:
        """Return up to ``size`` bytes (a chunk when ``size`` is negative); b"" at the end."""
        return self.pipe.get(size if size >= 0 else DEFAULT_PIPE_BYTES)


class PipeWriteEnd:
    """The pipe as a file to write, for a library that calls ``write(data)``."""

    def __init__(self, pipe: ChunkPipe) -> None:
        self.pipe = pipe

    def write(self, data: bytes, /) -> int:
        """Put ``data`` into the pipe; wait while it is full."""
        self.pipe.put(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the reader takes chunks as they come."""


class Readable(Protocol):
    """Something bytes are read from."""

    def read(self, size: int = -1, /) -> bytes:
        """Return up to ``size`` bytes; b"" at the end."""
        ...


class Writable(Protocol):
    """Something bytes are written to."""

    def write(self, data: bytes, /) -> int:
        """Take ``data``."""
        ...


class RecordingReader:
    """A reader that keeps the first exception it raised.

    A library that runs our file objects (pyrage) wraps their exceptions into its own; this
    keeps the original (a StorageError naming the destination) for the calling thread.
    """

    def __init__(self, source: Readable) -> None:
        self.source = source
        self.error: BaseException | None = None

    def read(self, size: int = -1, /) -> bytes:
        """Read from the source."""
        try:
            return self.source.read(size)
        except BaseException as exc:
            self.error = self.error or exc
            raise


class RecordingWriter:
    """A writer that keeps the first exception it raised (see RecordingReader)."""

    def __init__(self, sink: Writable) -> None:
        self.sink = sink
        self.error: BaseException | None = None

    def write(self, data: bytes, /) -> int:
        """Write to the sink."""
        try:
            self.sink.write(data)
        except BaseException as exc:
            self.error = self.error or exc
            raise
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: every write is passed on at once."""
