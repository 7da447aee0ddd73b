"""Checking a MariaDB/MySQL dump statement by statement before the client sends it anywhere.

A dump is imported by the ``mariadb`` client, which runs whatever statements it holds. Even an
authentic dump (a compromised source database writes its own dump) must not reach beyond the
database it is restored into, so ``StatementGuard`` lets through only what mariadb-dump writes
and refuses the rest, naming the statement kind and its line:

- outside data sections, the text is cut into statements the way the client cuts it (quotes,
  backquotes, comments, ``DELIMITER``), and each statement must be one of the kinds a dump
  holds (``SET``, ``DROP``/``CREATE`` of a table, view, trigger, routine, event or sequence
  named without a database, ``LOCK``/``UNLOCK TABLES``, ``ALTER TABLE … DISABLE/ENABLE KEYS``,
  ``DO SETVAL`` of a sequence); anywhere,
  routine bodies included, ``CREATE/DROP/ALTER DATABASE``, ``INTO OUTFILE/DUMPFILE``, ``LOAD
  DATA``, ``LOAD_FILE``, ``GRANT``, ``REVOKE``, user and role statements, ``SET GLOBAL``,
  ``INSTALL``/``UNINSTALL``, ``SHUTDOWN``, ``DATA/INDEX DIRECTORY`` and client commands are
  refused, as are SQL modes and character sets that change how quotes are read;
- inside a data section (``LOCK TABLES `t` WRITE;`` … ``UNLOCK TABLES;``) the rows are checked
  in bulk against one pattern: ``INSERT INTO `t` (…) VALUES``, string literals that do not span
  lines, quoted names, numbers, hexadecimal, ``NULL``, punctuation and the ``ALTER TABLE … KEYS``
  lines; nothing else (no other word, no comment, no qualified name) may stand there.

Only checked text is returned, a whole statement at a time outside data sections, so the client
never holds the beginning of a refused statement.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from backproof.errors import RestoreError
from backproof.sources.dump_lines import NATIVE_MATCH_ROWS, count_newlines
from backproof.sources.mysql_digests import END_OF_DATA
from backproof.sources.mysql_guard_rules import IGNORED, refusal_of
from backproof.sources.mysql_stream import LOCK_TABLE, find_line, has_open_name

MAX_STATEMENT_BYTES = 16 * 1024 * 1024
DELIMITERS = (b";", b";;")
TOKEN = re.compile(
    rb"(?P<sandbox>/\*M!999999\\-.*?\*/)"
    rb"|(?P<open>/\*M?!\d*)"
    rb"|(?P<comment>/\*(?!!).*?\*/|--(?:[ \t\r][^\n]*)?(?=\n|\Z)|\#[^\n]*)"
    rb"|(?P<close>\*/)"
    rb"|(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    rb"|(?P<name>`(?:[^`]|``)*`)"
    rb"|(?P<word>@{0,2}[A-Za-z_$][\w$]*)"
    rb"|(?P<number>[0-9][\w.]*)"
    rb"|(?P<space>\s+)"
    rb"|(?P<other>.)",
    re.S,
)
_UNFINISHED = (b"'", b'"', b"`")
# The rows of a data section, as one possessive pattern (no backtracking: about 50 MB/s on
# this machine while loaded, against 18 MB/s for stripping the literals and searching the rest).
ROWS = re.compile(
    rb"(?:'[^'\\\n]*+(?:\\.[^'\\\n]*+)*+'"
    rb"|[\s(),;+]++"
    rb"|[0-9]++(?:\.[0-9]++)?+(?:[eE][+\-]?+[0-9]++)?+(?![\w.])"
    rb"|NULL(?![\w.])"
    rb"|-(?!-)"
    rb"|0x[0-9A-Fa-f]++(?![\w.])"
    rb"|`[^`]*+(?:``[^`]*+)*+`"
    rb"|(?:INSERT|INTO|VALUES|_binary|[xXbB](?='))(?![\w.])"
    rb"|^/\*!40000 ALTER TABLE `(?:[^`]|``)++` (?:DIS|EN)ABLE KEYS \*/;$"
    rb")*+",
    re.M,
)


def python_match_rows(rows: bytes) -> int:
    """Return how much of ``rows`` is row data: the end of ``ROWS``'s match at its start."""
    found = ROWS.match(rows)
    return found.end() if found is not None else 0


# ``ROWS`` steps through every byte of every data section (3.3 s of CPU per GB of dump); its C
# twin (``backproof._native.dump_lines.match_rows``) gives the same length for any bytes.
match_rows = NATIVE_MATCH_ROWS or python_match_rows

# Where the pattern stops inside a name that the chunk ends in (its closing quote is to come).
_OPEN_NAME = re.compile(rb"(?:/\*!40000 ALTER TABLE )?`(?:[^`]|``)*+\Z")
_SHOWN = re.compile(rb"[A-Za-z_][\w]*|.", re.S)


# The kinds of checked text ``feed_parts`` returns: statements and lines outside data sections;
# the ``LOCK TABLES `t` WRITE;`` line that opens a data section at a statement boundary while
# the delimiter is ``;`` (a client may import that section's rows over other connections);
# the rows of a data section; the ``UNLOCK TABLES;`` line that closes it.
OUTSIDE, SECTION, SECTION_ROWS, SECTION_END = "outside", "section", "rows", "end"


class Part(NamedTuple):
    """A piece of checked text and what it is (one of the kinds above)."""

    kind: str
    text: bytes


class RefusedStatementError(RestoreError):
    """The dump holds a statement that mariadb-dump does not write."""

    def __init__(self, kind: str, line: int) -> None:
        self.kind = kind
        self.line = line
        super().__init__(
            f"the dump holds a statement that is refused: {kind} at line {line} "
            "(not what mariadb-dump writes; nothing after it was imported)"
        )


class StatementGuard:
    """Passes a dump stream on chunk by chunk, checked; raises RefusedStatementError."""

    def __init__(self) -> None:
        self._pending = b""
        self._statement = b""
        self._statement_line = 1
        self._line = 1  # the line number of the next line read
        self._delimiter = b";"
        self._in_data = False
        self._open_lock = b""  # a LOCK TABLES line whose quoted name holds a newline

    def feed(self, chunk: bytes) -> bytes:
        """Return the checked complete statements and rows of ``pending + chunk``."""
        return b"".join(part.text for part in self.feed_parts(chunk))

    def finish(self) -> bytes:
        """Return what is left once checked: the client runs an unterminated last statement."""
        return b"".join(part.text for part in self.finish_parts())

    def feed_parts(self, chunk: bytes) -> list[Part]:
        """Return what ``feed`` returns, cut where data sections open and close."""
        data = self._pending + chunk if self._pending else chunk
        end = data.rfind(b"\n") + 1
        parts: list[Part] = []
        position = 0
        while position < end:
            if self._in_data:
                checked = self._read_data(data, position, end, parts)
                if checked == position or (self._in_data and checked < end):
                    break  # a line whose quoted name goes on in the next chunk waits for it
                position = checked
            else:
                newline = data.index(b"\n", position, end) + 1
                text = self._read_line(data[position:newline])
                opens = self._in_data and self._delimiter == b";"
                parts.append(Part(SECTION if opens else OUTSIDE, text))
                position = newline
        self._pending = data[position:]
        if self._in_data and len(self._pending) > MAX_STATEMENT_BYTES:
            self._check_rows(self._pending)  # a name that never closes: refused, not buffered
        return [part for part in parts if part.text]

    def finish_parts(self) -> list[Part]:
        """Return what ``finish`` returns, as parts."""
        rest, self._pending = self._pending, b""
        if self._in_data:
            self._check_rows(rest)
            return [Part(SECTION_ROWS, rest)]
        out = self._read_line(rest) if rest else b""
        if self._statement and _has_code(self._statement):
            self._check(self._statement, self._statement_line)
        rest, self._statement = self._statement, b""
        return [Part(OUTSIDE, out + rest)]

    def _read_data(self, data: bytes, position: int, end: int, parts: list[Part]) -> int:
        """Check the rows from ``position`` up to ``UNLOCK TABLES;``; return where to go on.

        At the end of a chunk, a last line inside a quoted name (a newline in a table's name)
        is left for the next chunk.
        """
        stop = find_line(data, END_OF_DATA, position, end)
        rows = data[position : end if stop < 0 else stop]
        length = self._check_rows(rows, is_last=stop >= 0)  # all of the rows when stop >= 0
        checked = position + length
        region_end = stop + len(END_OF_DATA) if stop >= 0 else checked
        parts.append(Part(SECTION_ROWS, rows if length == len(rows) else rows[:length]))
        if stop >= 0:
            parts.append(Part(SECTION_END, END_OF_DATA))
        self._line += count_newlines(data, position, region_end)
        self._in_data = stop < 0
        return region_end

    def _check_rows(self, rows: bytes, is_last: bool = True) -> int:
        """Return how much of ``rows`` is row data (all of it, or up to the start of a line
        left inside a quoted name when more is to come); raise RefusedStatementError at the
        first thing that is not row data."""
        position = match_rows(rows)
        if position == len(rows):
            return position
        if not is_last and _OPEN_NAME.match(rows, position):
            return rows.rfind(b"\n", 0, position) + 1
        shown = _SHOWN.match(rows, position)
        text = shown.group().decode("utf-8", "replace") if shown else ""
        where = self._line + rows.count(b"\n", 0, position)
        raise RefusedStatementError(f"{text!r} among the rows", where)

    def _read_line(self, line: bytes) -> bytes:
        """Add one line outside data sections; return the statements it completes."""
        number, self._line = self._line, self._line + 1
        if self._open_lock:
            line, self._open_lock = self._open_lock + line, b""
        if not self._statement:
            self._statement_line = number
            if line.lower().startswith(b"delimiter"):
                return self._set_delimiter(line, number)
            if line.startswith(b"LOCK TABLES `") and has_open_name(line.rstrip(b"\r\n")):
                self._open_lock = line
                return b""
            if LOCK_TABLE.match(line.rstrip(b"\r\n")):
                self._in_data = True
                return line
        elif line.lower().startswith(b"delimiter"):
            raise RefusedStatementError("DELIMITER inside a statement", number)
        self._statement += line
        if len(self._statement) > MAX_STATEMENT_BYTES:
            raise RefusedStatementError("a statement longer than 16 MiB", self._statement_line)
        if self._delimiter[:1] in line or _may_be_idle(line):
            return self._complete_statements()
        return b""

    def _set_delimiter(self, line: bytes, number: int) -> bytes:
        words = line.split()
        delimiter = words[1] if len(words) == 2 else b""
        if delimiter not in DELIMITERS:
            shown = delimiter.decode("utf-8", "replace")
            raise RefusedStatementError(f"DELIMITER {shown!r}", number)
        self._delimiter = delimiter
        return line

    def _complete_statements(self) -> bytes:
        """Check and return the complete statements at the start of the buffer."""
        buffer, start = self._statement, 0
        for token in TOKEN.finditer(buffer):
            if token.start() < start:
                continue
            text = token.group()
            if token.lastgroup == "other" and (
                text in _UNFINISHED or buffer.startswith(b"/*", token.start())
            ):
                break
            if token.lastgroup == "other" and buffer.startswith(self._delimiter, token.start()):
                end = token.start() + len(self._delimiter)
                line = self._statement_line + buffer.count(b"\n", 0, start)
                self._check(buffer[start:end], line)
                start = end
        rest = buffer[start:]
        if not _has_code(rest):
            start = len(buffer)
        self._statement_line += buffer.count(b"\n", 0, start)
        self._statement = buffer[start:]
        return buffer[:start]

    @staticmethod
    def _check(statement: bytes, line: int) -> None:
        """Raise RefusedStatementError when ``statement`` (starting at ``line``) is refused."""
        tokens = [
            (token.lastgroup or "", token.group(), token.start())
            for token in TOKEN.finditer(statement)
        ]
        first = next((start for kind, _text, start in tokens if kind not in IGNORED), 0)
        kind = refusal_of([(kind, text) for kind, text, _start in tokens])
        if kind is not None:
            raise RefusedStatementError(kind, line + statement.count(b"\n", 0, first))


def _has_code(text: bytes) -> bool:
    """Return True when ``text`` holds more than spaces, comments and delimiters."""
    return any(
        token.lastgroup not in IGNORED and token.group() != b";" for token in TOKEN.finditer(text)
    )


def _may_be_idle(line: bytes) -> bool:
    """Return True for a line that may leave only comments in the buffer (so it is flushed)."""
    stripped = line.strip()
    return not stripped or stripped.startswith((b"--", b"#", b"/*"))
