"""The file-like objects pyrage streams a pack through: pieces read as one stream, bytes
written into a buffer made beforehand; and what the worker processes (``decrypt_worker.py``,
``seal_worker.py``, ``restore_worker.py``) share: the memfd buffer, their socket's loop, the
reading of a stored pack and private mappings.

Apart from ``packs.py`` (whose imports bring the config's models) so that those processes start
with these alone.
"""

from __future__ import annotations

import json
import mmap
import os
import signal
import socket
from collections.abc import Callable
from typing import Any

MESSAGE_BYTES = 64 * 1024  # a job, an answer, or a first message (an OpenSSH key is ~3 KiB)

_HUGE_PAGES: int | None = getattr(mmap, "MADV_HUGEPAGE", None)  # Linux only


class PiecesReader:
    """The pieces of a pack read as one stream, each piece let go once read."""

    def __init__(self, pieces: list[bytes] | list[memoryview]) -> None:
        pieces.reverse()
        self.pieces = pieces
        self.view = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        """Return up to ``size`` bytes (the rest of the current piece when negative); b"" at
        the end."""
        while not self.view and self.pieces:
            self.view = memoryview(self.pieces.pop())
        if size < 0:
            size = len(self.view)
        piece, self.view = self.view[:size], self.view[size:]
        return bytes(piece)


def mapped_buffer(size: int) -> memoryview:
    """Return a writable buffer of ``size`` bytes, mapped (private, not shared memory) rather
    than taken from the heap: a pack let go is given back to the system at once, where the
    allocator kept such buffers of the restore's threads (peak 344-373 MiB of a 2 GB restore,
    227-231 MiB mapped). In huge pages where the system has them: faulting 4 KiB pages in one
    by one cost 0.5 s of system time there. The mapping goes with the last view of it."""
    return memoryview(private_mapping(size))


def private_mapping(size: int) -> mmap.mmap:
    """Return a private anonymous mapping of ``size`` bytes (at least one), in huge pages where
    the system has them (``mapped_buffer``)."""
    buffer = mmap.mmap(-1, max(size, 1), flags=mmap.MAP_PRIVATE)
    if _HUGE_PAGES is not None:
        buffer.madvise(_HUGE_PAGES)
    return buffer


def read_whole(stream: Any, view: memoryview) -> None:
    """Fill ``view`` from ``stream`` (a stored pack's file, read unbuffered); OSError when the
    file ends first (truncated since its size was read)."""
    done = 0
    while done < len(view):
        count = stream.readinto(view[done:])
        if not count:
            raise OSError(0, "the pack ended before its size (truncated meanwhile)")
        done += count


class ViewWriter:
    """What pyrage writes, copied into one buffer made at the size of the stored pack (the
    decrypted pack is smaller): no 8 KiB pieces joined into a second copy, which held the pack
    three times (stored, pieces, joined) on each thread loading one."""

    def __init__(self, view: memoryview) -> None:
        self.view = view
        self.size = 0

    def write(self, data: bytes) -> int:
        """Copy ``data`` after what was written; ValueError when it would not fit."""
        end = self.size + len(data)
        if end > len(self.view):
            raise ValueError("the decrypted pack is larger than the stored one")
        self.view[self.size : end] = data
        self.size = end
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the buffer is the result."""

    def result(self) -> memoryview:
        """Return what was written."""
        return self.view[: self.size]


def output_offset(stored_bytes: int) -> int:
    """Return where a worker's result goes in its buffer: after the pack it was handed, at a
    page boundary."""
    return -(-stored_bytes // mmap.PAGESIZE) * mmap.PAGESIZE


class SharedBuffer:
    """The memfd shared with the backup or restore, mapped in a worker, grown (never shrunk)
    to fit a pack."""

    def __init__(self, descriptor: int) -> None:
        self.descriptor = descriptor
        self.mapping: mmap.mmap | None = None

    def view(self, length: int) -> memoryview:
        """Return a view of the buffer's first ``length`` bytes, growing it when shorter."""
        if self.mapping is None or len(self.mapping) < length:
            if os.fstat(self.descriptor).st_size < length:
                os.ftruncate(self.descriptor, length)
            if self.mapping is not None:
                self.mapping.close()  # every view of it was released with its job
            self.mapping = mmap.mmap(self.descriptor, length)
        return memoryview(self.mapping)[:length]


Job = Callable[[dict[str, Any], SharedBuffer], dict[str, Any]]


def serve_stdin(start: Callable[[bytes], Job]) -> None:
    """A worker's main loop over the socket on its standard input: the first message (with the
    buffer's descriptor) makes the job function with ``start``; each later message is a job,
    answered by that function's result, until the socket closes."""

    def serve(channel: socket.socket) -> None:
        data, descriptors, _flags, _address = socket.recv_fds(channel, MESSAGE_BYTES, 1)
        if not descriptors:
            return  # the socket was closed before the first message
        job = start(data)
        del data
        buffer = SharedBuffer(descriptors[0])
        while message := channel.recv(MESSAGE_BYTES):
            channel.send(json.dumps(job(json.loads(message), buffer)).encode())

    serve_standard_input(serve)


def serve_standard_input(serve: Callable[[socket.socket], None]) -> None:
    """Run a worker's ``serve`` over the socket on its standard input. Ctrl-C is ignored (a
    terminal's reaches the worker too; the backup or restore stops it by closing the socket); a
    parent gone ends it quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = socket.socket(fileno=0)
    try:
        serve(channel)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the parent is gone: nothing to answer
    finally:
        channel.close()
