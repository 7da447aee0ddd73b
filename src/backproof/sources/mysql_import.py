"""Importing a checked MariaDB/MySQL dump over several connections at once (issue 12).

The ``mariadb`` client runs the dump in order, as in a single-stream restore, except the
``INSERT`` statements of its data sections: those go to ``jobs`` connections of our own, each
statement whole, in any order within its table. The order that matters is kept by two waits:

- before a table's first ``INSERT`` is sent, the client has run everything written to it so
  far (its ``CREATE TABLE`` above all): backproof writes ``SELECT '<token>';`` to it and reads
  its output until the token comes back;
- before anything more is written to the client (the table's ``ENABLE KEYS``, its triggers,
  the next table), every ``INSERT`` sent has been committed: a trigger never fires on a
  dumped row, a view or routine is made over complete tables.

The section's ``LOCK TABLES `t` WRITE;`` is left out (it would hold the other connections
off); ``UNLOCK TABLES;`` is harmless and kept. The connections take the session settings the
dump's header gives the client (its ``SET`` lines: character set, time zone, SQL mode, unique
and foreign key checks off).

Only text the statement guard let through reaches this module, cut by it where data sections
open and close (``StatementGuard.feed_parts``). A statement is sent over a connection of ours
only when it is certainly one whole ``INSERT`` into the section's table: it starts at a
statement boundary (the section's start or the end of such a statement), its head is
``INSERT INTO `t` (`column`, …) VALUES`` with names on one line, its rows hold no backquote
outside a string and end with the first ``;`` that ends a line (a string never holds a raw
newline, so that ``;`` ends the statement). The first statement of a section that is anything
else (the ``DISABLE KEYS`` line aside) sends the rest of the section to the client as it
stands. The connections send one statement per query, never several, so a statement cannot
bring another along.
"""

from __future__ import annotations

import os
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, BinaryIO

import pymysql

from backproof.errors import RestoreError, SourceError
from backproof.sources.dump_lines import find_bytes
from backproof.sources.mysql_definers import DefinerStripper
from backproof.sources.mysql_guard import OUTSIDE, SECTION, SECTION_END, Part, StatementGuard
from backproof.sources.mysql_tools import reason
from backproof.storage.base import CHUNK_BYTES

Connect = Callable[[], AbstractContextManager[Any]]

# A statement longer than this goes to the client with the rest of its section: mariadb-dump
# writes statements of about 1 MiB (its net buffer), longer ones only for one very large row.
MAX_PARALLEL_STATEMENT_BYTES = 4 * 1024 * 1024
_STATEMENT_END = b";\n"
ER_LOCK_DEADLOCK = 1213
DEADLOCK_ATTEMPTS = 5
_INSERT_HEAD = re.compile(
    rb"INSERT INTO (`(?:[^`\n]|``)++`) (?:\(`(?:[^`\n]|``)++`(?:, `(?:[^`\n]|``)++`)*+\) )?VALUES "
)
# Rows whose backquotes are all inside strings (strings never span lines in a checked section).
_ROWS_WITHOUT_NAMES = re.compile(rb"(?:'[^'\\\n]*+(?:\\.[^'\\\n]*+)*+'|[^'`]++)*+")
_LOCK_NAME = re.compile(rb"LOCK TABLES (`(?:[^`\n]|``)++`) WRITE;\n")
# The header's session settings: ``/*!40101 SET NAMES utf8mb4 */;`` and the like, one a line
# (not MariaDB's ``/*M!…`` ones: a MySQL server reads them as an empty query, and they set only
# how notes are reported).
_SESSION_SETTING = re.compile(rb"/\*!\d+ SET [^\n]*\*/;")


class ClientProgress:
    """Tells when the client has run everything written to it: it prints a token back."""

    def __init__(self, output: BinaryIO) -> None:
        self._output = output
        self._count = 0
        self._seen = b""

    def wait(self, client: BinaryIO) -> None:
        """Write a token query to ``client`` and read its output until the token comes back.

        Raises RestoreError when the client's output ends first (it stopped on an error).
        """
        self._count += 1
        token = b"backproof progress %d" % self._count
        client.write(b"SELECT '" + token + b"' AS progress;\n")
        client.flush()
        wanted = b"\n" + token + b"\n"
        while wanted not in self._seen:
            chunk = self._output.read(4096)
            if not chunk:
                raise RestoreError("the client stopped before the end of the dump")
            self._seen = self._seen[-len(wanted) :] + chunk
        self._seen = b""


class InsertWorkers:
    """``jobs`` threads, each with its own connection, running whole INSERT statements."""

    def __init__(self, connect: Connect, jobs: int) -> None:
        self._connect = connect
        self._jobs = jobs
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=2 * jobs)
        self._threads: list[threading.Thread] = []
        self._session: list[bytes] = []
        self._error: RestoreError | SourceError | None = None
        self._stopped = False  # closed early: what is still queued is not run
        self._lock = threading.Lock()
        self.pending = False  # statements sent since the last drain

    def set_session(self, statements: list[bytes]) -> None:
        """Give the connections these session settings (before the first statement)."""
        self._session = statements

    def submit(self, table: str, statement: bytes) -> None:
        """Queue one INSERT statement; raise the first error of a connection, if any."""
        self._raise_error()
        if not self._threads:
            self._start()
        self.pending = True
        self._queue.put((table, statement))

    def drain(self) -> None:
        """Wait until every statement queued is committed; raise the first error."""
        if self.pending:
            self._queue.join()
            self.pending = False
        self._raise_error()

    def close(self, *, abandon: bool = False) -> None:
        """Stop the threads (after what is queued, unless ``abandon``: the import failed) and
        close their connections."""
        self._stopped = abandon
        for _thread in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _start(self) -> None:
        for number in range(self._jobs):
            thread = threading.Thread(target=self._run, name=f"import {number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        """Run the queued statements over one connection until told to stop; after an error
        (its own or another connection's) take the rest off the queue unrun."""
        try:
            with self._connect() as connection, connection.cursor() as cursor:
                for statement in self._session:
                    cursor.execute(statement)
                self._take_queued(cursor)
                return
        except pymysql.MySQLError as exc:
            self._note(RestoreError(f"cannot import over a connection of its own: {reason(exc)}"))
        except SourceError as exc:
            self._note(exc)
        self._take_queued(None)

    def _take_queued(self, cursor: Any) -> None:
        while (item := self._queue.get()) is not None:
            table, statement = item
            try:
                if cursor is not None and self._error is None and not self._stopped:
                    execute_retrying_deadlocks(cursor, statement)
            except (pymysql.MySQLError, OSError) as exc:
                self._note(RestoreError(f"the import of table {table} failed: {_reason(exc)}"))
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _note(self, error: RestoreError | SourceError) -> None:
        with self._lock:
            if self._error is None:
                self._error = error


class ParallelImport:
    """Routes checked parts: to the client in order, INSERT statements to the workers."""

    def __init__(self, client: BinaryIO, progress: ClientProgress, workers: InsertWorkers) -> None:
        self._client = client
        self._progress = progress
        self._workers = workers
        self._table = b""  # the quoted name of the section whose statements go to the workers
        self._rows = b""  # the incomplete statement of that section
        self._client_ahead = True  # the client has text it may not have run yet
        self._session: list[bytes] = []
        self._session_done = False

    def feed(self, parts: Iterable[Part]) -> None:
        """Route the parts of one chunk."""
        for part in parts:
            if part.kind == SECTION:
                self._open_section(part.text)
            elif part.kind in (SECTION_END, OUTSIDE) or not self._table:
                self._close_section()
                self._note_session(part)
                self._to_client(part.text)
            else:
                self._route_rows(part.text)

    def finish(self) -> None:
        """Send what is left to the client; wait for the workers."""
        self._close_section()
        self._workers.drain()

    def _open_section(self, line: bytes) -> None:
        found = _LOCK_NAME.fullmatch(line)
        if found is None:  # a newline in the table's name: the client imports it as it stands
            self._to_client(line)
            return
        self._table = found.group(1)
        self._session_done = True

    def _close_section(self) -> None:
        """Give the client what is left of the section's statements (none when it ended well)."""
        rest, self._rows, self._table = self._rows, b"", b""
        if rest:
            self._to_client(rest)

    def _route_rows(self, rows: bytes) -> None:
        data = self._rows + rows if self._rows else rows
        # The statement held from the chunks before holds no ";\n": search from its last byte.
        start, searched = 0, max(len(self._rows) - 1, 0)
        while (found := find_bytes(data, _STATEMENT_END, searched, len(data))) >= 0:
            end = found + len(_STATEMENT_END)
            if not self._route_statement(data[start:end]):
                self._table, self._rows = b"", b""
                self._to_client(data[start:])
                return
            start = searched = end
        self._rows = data[start:]
        if len(self._rows) > MAX_PARALLEL_STATEMENT_BYTES:
            self._table = b""
            self._to_client(self._rows)
            self._rows = b""

    def _route_statement(self, statement: bytes) -> bool:
        """Send one statement of the section where it belongs; False when it is not certainly
        a whole INSERT of the section's table (the rest of the section then goes to the client)."""
        if statement == b"/*!40000 ALTER TABLE " + self._table + b" DISABLE KEYS */;\n":
            self._to_client(statement)
            return True
        if not is_whole_insert(statement, self._table):
            return False
        if self._client_ahead:
            self._progress.wait(self._client)
            self._workers.set_session(self._session)
            self._client_ahead = False
        self._workers.submit(_name_of(self._table), statement)
        return True

    def _note_session(self, part: Part) -> None:
        """Keep the header's session settings (the lines before the first data section)."""
        if self._session_done or part.kind != OUTSIDE:
            return
        for line in part.text.splitlines():
            if _SESSION_SETTING.fullmatch(line):
                self._session.append(line)

    def _to_client(self, text: bytes) -> None:
        self._workers.drain()
        self._client.write(text)
        self._client_ahead = True


def execute_retrying_deadlocks(cursor: Any, statement: bytes) -> int:
    """Run one autocommitted statement; run it again when InnoDB chose it as the victim of a
    deadlock (it was rolled back whole: two connections inserting into one table can meet so).
    Return how many times it was run; raise the error of the last attempt."""
    attempt = 1
    while True:
        try:
            cursor.execute(statement)
        except pymysql.err.OperationalError as exc:
            if exc.args[0] != ER_LOCK_DEADLOCK or attempt == DEADLOCK_ATTEMPTS:
                raise
            attempt += 1
            continue
        return attempt


def is_whole_insert(statement: bytes, table: bytes) -> bool:
    """Return True when ``statement``, cut from a checked data section at a statement boundary
    up to the first ``;`` that ends a line, is certainly one whole ``INSERT`` into ``table``
    (quoted): its head names the table and columns on one line, and no backquote stands among
    its rows outside a string (so the ``;`` that ends it ends no name either)."""
    head = _INSERT_HEAD.match(statement)
    if head is None or head.group(1) != table or not statement.endswith(_STATEMENT_END):
        return False
    start, end = head.end(), len(statement) - len(_STATEMENT_END)
    named = statement.find(b"`", start, end) >= 0
    return not named or _ROWS_WITHOUT_NAMES.fullmatch(statement, start, end) is not None


def import_parts(
    parts: Iterable[list[Part]],
    run_client: Callable[[Callable[[BinaryIO], None], BinaryIO], None],
    connect: Connect,
    jobs: int,
) -> None:
    """Import the checked parts: ``run_client(produce, output)`` runs the client with
    ``produce`` writing its input and its output going to ``output``."""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb", buffering=0) as output, os.fdopen(write_end, "wb") as sink:

        def produce(client: BinaryIO) -> None:
            sink.close()  # the client holds its own copy: its exit ends our reading
            workers = InsertWorkers(connect, jobs)
            router = ParallelImport(client, ClientProgress(output), workers)
            try:
                for chunk in parts:
                    router.feed(chunk)
                router.finish()
            except BaseException:
                workers.close(abandon=True)
                raise
            workers.close()

        run_client(produce, sink)


def checked_parts(dump: BinaryIO, *, strip_definers: bool) -> Iterator[list[Part]]:
    """Yield the dump chunk by chunk as the statement guard lets it through, cut into parts;
    with ``strip_definers`` (a scratch database) without the definer clauses, taken out before
    the guard reads the text, so the guard checks exactly what is imported."""
    guard = StatementGuard()
    stripper = DefinerStripper() if strip_definers else None
    while chunk := dump.read(CHUNK_BYTES):
        yield guard.feed_parts(stripper.feed(chunk) if stripper else chunk)
    if stripper is not None:
        yield guard.feed_parts(stripper.finish())
    yield guard.finish_parts()


def write_parts(parts: Iterable[list[Part]], client: BinaryIO) -> None:
    """Write every part to the client, in order (a single-stream import)."""
    for chunk in parts:
        client.write(b"".join(part.text for part in chunk))


def _name_of(quoted: bytes) -> str:
    return quoted[1:-1].replace(b"``", b"`").decode("utf-8", errors="replace")


def _reason(error: pymysql.MySQLError | OSError) -> str:
    return reason(error) if isinstance(error, pymysql.MySQLError) else str(error)
