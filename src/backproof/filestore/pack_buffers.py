"""The file-like objects pyrage streams a pack through: pieces read as one stream, bytes
written into a buffer made beforehand.

Apart from ``packs.py`` (whose imports bring the config's models) so that the process decrypting
a restore's packs (``decrypt_worker.py``) starts with these alone.
"""

from __future__ import annotations

import mmap

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
    buffer = mmap.mmap(-1, max(size, 1), flags=mmap.MAP_PRIVATE)
    if _HUGE_PAGES is not None:
        buffer.madvise(_HUGE_PAGES)
    return memoryview(buffer)


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
