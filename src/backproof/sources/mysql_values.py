"""Values of rows in a MySQL/MariaDB dump, and the even sampling of a stream of rows.

A row of an ``INSERT`` is ``(v1,v2,…)``: a value is ``NULL``, a number as the server printed it,
a quoted string with the client library's escapes, or ``0x…`` (binary, with ``--hex-blob``). It
is turned into what a client reading the server as text gets: a string, bytes for binary columns
(an empty binary value is dumped ``''``), or None.
"""

from __future__ import annotations

import re
from typing import Generic, TypeVar

Value = str | bytes | None
Item = TypeVar("Item")

IDENTIFIER = rb"`((?:[^`]|``)+)`"
INSERT_PREFIX = re.compile(
    rb"INSERT INTO " + IDENTIFIER + rb" (?:\((?P<columns>(?:`(?:[^`]|``)+`(?:, )?)*)\) )?VALUES ?"
)
_TUPLE = re.compile(rb"\((?:'[^'\\]*(?:\\.[^'\\]*)*'|[^()'])*\)")

_TOKEN = re.compile(rb"'[^'\\]*(?:\\.[^'\\]*)*'|[^,']+")
_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)
_UNESCAPED = {b"0": b"\0", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"Z": b"\x1a"}


class StrideSampler(Generic[Item]):
    """Keeps every ``stride``-th item, doubling the stride to stay under twice ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.stride = 1
        self._kept: list[tuple[int, Item]] = []

    def wants(self, index: int) -> bool:
        """Return True when the item at ``index`` (0-based) is to be kept."""
        return index % self.stride == 0

    def keep(self, index: int, item: Item) -> None:
        """Keep ``item`` (the item at ``index``), thinning what was kept when over the bound."""
        self._kept.append((index, item))
        if len(self._kept) > 2 * self.limit:
            self.stride *= 2
            self._kept = [(position, kept) for position, kept in self._kept if self.wants(position)]

    def result(self) -> list[Item]:
        """Return at most ``limit`` kept items, evenly spread, first included."""
        size = len(self._kept)
        count = min(self.limit, size)
        return [self._kept[(index * size) // count][1] for index in range(count)]


def parse_row(row: bytes, binary: list[bool]) -> list[Value] | None:
    """Return the values of one row ``(…)`` as the server returns them to a client as text;
    ``binary`` says which columns are binary. None when the row has another number of values."""
    tokens = _TOKEN.findall(row[1:-1])
    if len(tokens) != len(binary):
        return None
    return [_value(token, is_binary) for token, is_binary in zip(tokens, binary, strict=True)]


def _value(token: bytes, is_binary: bool) -> Value:
    if token == b"NULL":
        return None
    if token.startswith(b"'"):
        raw = _ESCAPE.sub(_unescape, token[1:-1])
        return raw if is_binary else raw.decode("utf-8", errors="surrogateescape")
    if token.startswith(b"0x"):
        return bytes.fromhex(token[2:].decode("ascii"))
    return token.decode("ascii", errors="replace")


def _unescape(match: re.Match[bytes]) -> bytes:
    character = match.group(1)
    return _UNESCAPED.get(character, character)


def split_rows(values: bytes) -> list[bytes]:
    """Return the rows ``(…)`` of the values of a one-line ``INSERT`` statement."""
    rows: list[bytes] = _TUPLE.findall(values)
    return rows
