"""Leaving the ``DEFINER=`user`@`host``` clauses out of a dump restored into a scratch database.

A view, trigger, routine or event restored with the definer of the source needs the restoring
user to hold SET USER (or SUPER): a privilege that lets it act as anyone. Verify restores into a
throw-away database as the least-privileged verify user, so there the objects are created with
that user as their definer instead. ``restore --to`` keeps the definers as dumped.

Only lines outside data sections are rewritten: rows pass through untouched, in bulk.
"""

from __future__ import annotations

import re

from backproof.sources.mysql_digests import END_OF_DATA
from backproof.sources.mysql_stream import LOCK_TABLE, find_line, has_open_name

_DEFINER = re.compile(rb"DEFINER=`(?:[^`]|``)*`(?:@`(?:[^`]|``)*`)? ?")


class DefinerStripper:
    """Rewrites a dump stream chunk by chunk, without the definer clauses."""

    def __init__(self) -> None:
        self._pending = b""
        self._in_data = False
        self._open_name = b""  # a LOCK TABLES line whose quoted name holds a newline

    def feed(self, chunk: bytes) -> bytes:
        """Return the rewritten complete lines of ``pending + chunk``."""
        data = self._pending + chunk if self._pending else chunk
        end = data.rfind(b"\n") + 1
        pieces = []
        position = 0
        while position < end:
            if self._in_data:
                stop = find_line(data, END_OF_DATA, position, end)
                next_position = end if stop < 0 else stop + len(END_OF_DATA)
                pieces.append(data[position:next_position])
                self._in_data = stop < 0
            else:
                next_position = data.index(b"\n", position, end) + 1
                line, self._open_name = self._open_name + data[position:next_position], b""
                if has_open_name(line[:-1]):
                    self._open_name = line
                else:
                    self._in_data = LOCK_TABLE.match(line[:-1]) is not None
                    pieces.append(_DEFINER.sub(b"", line))
            position = next_position
        self._pending = data[end:]
        return b"".join(pieces)

    def finish(self) -> bytes:
        """Return the rewritten last line (a dump normally ends with a newline)."""
        rest, self._pending = self._open_name + self._pending, b""
        self._open_name = b""
        return rest if self._in_data else _DEFINER.sub(b"", rest)
