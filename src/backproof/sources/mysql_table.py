"""One table of a MariaDB/MySQL backup restored into another database (``restore --table``).

The dump is checked statement by statement first (``mysql_guard``: what it refuses stays
refused), then ``TableSelector`` keeps only what belongs to the table: its ``DROP TABLE`` and
``CREATE TABLE`` (indexes and foreign keys included; the dump's ``FOREIGN_KEY_CHECKS=0`` lets a
key name a table the database lacks), its data section, and the session ``SET`` statements
around them. Views, triggers, routines and events are left out: they may name other tables.
The selector cuts the checked text into statements the way the client does (quotes,
backquotes, comments, ``DELIMITER``), so a piece of another statement is never sent.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from backproof.errors import RestoreError
from backproof.process import write_pipeline
from backproof.sources.base import DataPartOpener
from backproof.sources.mysql_catalog import quote
from backproof.sources.mysql_digests import END_OF_DATA
from backproof.sources.mysql_guard import TOKEN, StatementGuard
from backproof.sources.mysql_guard_rules import IGNORED
from backproof.sources.mysql_stream import LOCK_TABLE, find_line, has_open_name
from backproof.sources.mysql_tools import (
    CLIENT_TOOLS,
    client_command,
    execute,
    find_tool,
    options_file,
)
from backproof.sources.server_urls import parse_server_url
from backproof.storage.base import CHUNK_BYTES

DUMP_FORMAT = "mysql-sql"
_BETWEEN_STATEMENTS = frozenset({"space", "comment"})
_UNFINISHED = (b"'", b'"', b"`")
_TABLE_STATEMENTS = ([b"DROP", b"TABLE"], [b"CREATE", b"TABLE"])


def _identifier(inner: bytes) -> str:
    """Return the name inside a name's backquotes (a doubled backquote is one)."""
    return inner.replace(b"``", b"`").decode("utf-8", errors="surrogateescape")


class TableSelector:
    """Passes on the statements and the data section of one table of a checked dump."""

    def __init__(self, table: str) -> None:
        self._table = table
        self._buffer = b""
        self._delimiter = b";"
        self._data_kept: bool | None = None  # in a data section: is it the table's?

    def feed(self, checked: bytes) -> bytes:
        """Return what of the table the complete statements of ``pending + checked`` hold."""
        self._buffer += checked
        kept: list[bytes] = []
        while self._data(kept) if self._data_kept is not None else self._statement(kept):
            pass
        return b"".join(kept)

    def _data(self, kept: list[bytes]) -> bool:
        """Pass on (or leave out) the rows up to ``UNLOCK TABLES;``; True when it was reached."""
        stop = find_line(self._buffer, END_OF_DATA, 0, len(self._buffer))
        end = stop + len(END_OF_DATA) if stop >= 0 else self._buffer.rfind(b"\n") + 1
        if self._data_kept:
            kept.append(self._buffer[:end])
        self._buffer = self._buffer[end:]
        if stop >= 0:
            self._data_kept = None
        return stop >= 0

    def _statement(self, kept: list[bytes]) -> bool:
        """Read the next statement, ``DELIMITER`` or ``LOCK TABLES`` line; False when it is not
        complete yet."""
        start = self._skip_comments()
        if start < 0:
            return False
        if start == 0 or self._buffer[start - 1 : start] == b"\n":
            line_end = self._line_end(start)
            if self._buffer[start : start + 9].lower() == b"delimiter":
                if line_end < 0:
                    return False
                self._delimiter = self._buffer[start:line_end].split()[1]
                self._buffer = self._buffer[line_end:]
                return True
            if self._buffer.startswith(b"LOCK TABLES `", start):
                return line_end >= 0 and self._lock(start, line_end, kept)
        end = self._statement_end(start)
        if end < 0:
            return False
        statement = self._buffer[start:end]
        if self._keeps(statement):
            kept.append(statement + b"\n")
        self._buffer = self._buffer[end:]
        return True

    def _skip_comments(self) -> int:
        """Return where the next statement starts; -1 when only spaces and comments are
        complete so far (a comment at the very end may go on)."""
        position = 0
        for token in TOKEN.finditer(self._buffer):
            if token.lastgroup not in _BETWEEN_STATEMENTS:
                return token.start()
            if token.end() == len(self._buffer) and token.lastgroup == "comment":
                return -1
            position = token.end()
        self._buffer = self._buffer[position:]
        return -1

    def _line_end(self, start: int) -> int:
        """Return the end of the line at ``start`` (a quoted name may hold a newline); -1
        when it is not complete."""
        end = self._buffer.find(b"\n", start)
        while end >= 0 and has_open_name(self._buffer[start:end]):
            end = self._buffer.find(b"\n", end + 1)
        return end + 1 if end >= 0 else -1

    def _lock(self, start: int, line_end: int, kept: list[bytes]) -> bool:
        match = LOCK_TABLE.match(self._buffer[start : line_end - 1])
        if match is None:
            raise RestoreError("the dump holds a LOCK TABLES line that mariadb-dump does not write")
        self._data_kept = _identifier(match.group(1)) == self._table
        if self._data_kept:
            kept.append(self._buffer[start:line_end])
        self._buffer = self._buffer[line_end:]
        return True

    def _statement_end(self, start: int) -> int:
        """Return the end of the statement at ``start`` (past its delimiter), or -1."""
        for token in TOKEN.finditer(self._buffer, start):
            text = token.group()
            if token.lastgroup != "other":
                continue
            if text in _UNFINISHED or self._buffer.startswith(b"/*", token.start()):
                return -1
            if self._buffer.startswith(self._delimiter, token.start()):
                return token.start() + len(self._delimiter)
        return -1

    def _keeps(self, statement: bytes) -> bool:
        """Return True for a session ``SET`` and the table's own ``DROP``/``CREATE TABLE``;
        nothing inside a ``DELIMITER ;;`` block (triggers, routines, events)."""
        if self._delimiter != b";":
            return False
        code = [
            (token.lastgroup, token.group())
            for token in TOKEN.finditer(statement)
            if token.lastgroup not in IGNORED
        ]
        words = [text.upper() for kind, text in code if kind == "word"]
        if words[:1] == [b"SET"]:
            return True
        names = [text for kind, text in code if kind == "name"]
        if words[:2] not in _TABLE_STATEMENTS or not names:
            return False
        return _identifier(names[0][1:-1]) == self._table


class MysqlTable:
    """A MariaDB/MySQL database that receives one table of a backup."""

    def __init__(self, url: str) -> None:
        self.server = parse_server_url(url)
        self.password = self.server.password or os.environ.get("MYSQL_PWD")
        self.database = self.server.database or ""

    def exists(self) -> bool:
        """Return True when the database exists."""
        rows = self._query(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
            (self.database,),
        )
        return bool(rows and int(rows[0][0]))

    def has_table(self, table: str) -> bool:
        """Return True when the database has a table or view of that name."""
        rows = self._query(
            "SELECT COUNT(*) FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
            (self.database, table),
        )
        return bool(rows and int(rows[0][0]))

    def count_rows(self, table: str) -> int:
        """Return the number of rows of the table."""
        rows = self._query(f"SELECT COUNT(*) FROM {quote(self.database)}.{quote(table)}")
        return int(rows[0][0]) if rows else 0

    def restore_table(
        self,
        dump: BinaryIO,
        dump_format: str,
        table: str,
        replace: bool,
        data_part: DataPartOpener | None = None,
    ) -> None:
        """Load the statements of ``table`` from the SQL dump, every statement checked first.

        The dump's own ``DROP TABLE IF EXISTS`` replaces the table (the job refuses an
        existing one unless ``replace``); a table created by a restore that fails is dropped
        again (a replaced one is gone: MariaDB commits each DDL statement). Raises
        RestoreError for another format, RefusedStatementError for a statement the guard
        refuses, PipelineError when the client fails. ``data_part`` is ignored: a MySQL dump
        is one stream.
        """
        if dump_format != DUMP_FORMAT:
            raise RestoreError(f"a {dump_format} dump cannot be restored into MySQL/MariaDB")
        guard = StatementGuard()
        selector = TableSelector(table)

        def produce(feed: BinaryIO) -> None:
            while chunk := dump.read(CHUNK_BYTES):
                feed.write(selector.feed(guard.feed(chunk)))
            feed.write(selector.feed(guard.finish() + b"\n"))

        tool = find_tool(CLIENT_TOOLS)
        existed = self.has_table(table)
        try:
            with options_file(self.password) as leading:
                command = client_command(tool, leading, self.server, self.database)
                write_pipeline([command], produce)
        except Exception:
            if not existed:  # DDL commits as it goes: what was created goes again
                self._query(f"DROP TABLE IF EXISTS {quote(self.database)}.{quote(table)}")
            raise

    def _query(self, statement: str, parameters: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        return execute(self.server, self.password, statement, parameters)
