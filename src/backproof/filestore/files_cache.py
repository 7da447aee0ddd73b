"""The local index of files already stored: (path, size, mtime, ctime, inode) → content.

A file whose metadata match its row is not read again: its sha256 and blob addresses come from
here (when the destination still holds every blob). Each row is read again after
``reread_days`` (spread over a window by the path, so a full re-read does not fall on one day),
which catches a change that kept size and times. A file modified within the second before it
was read is not recorded: a later change within the same clock tick could not be told.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path
from typing import NamedTuple

from backproof.privacy import make_private_dir, open_private_file

# A page cache of 8 MB, and a write-ahead log synced at checkpoints only, as the blob index's
# (``blob_index.SCHEMA``): a crash may lose the last backup's rows (those files are read again),
# never the file.
SCHEMA = """
pragma cache_size = -8192;
pragma journal_mode = wal;
pragma synchronous = normal;
create table if not exists files (
    path text primary key, size integer, mtime_ns integer, ctime_ns integer, inode integer,
    sha256 text, chunks text, read_at real, generation integer);
create temp table seen (path text);
"""
RACY_NANOSECONDS = 1_000_000_000
SEEN_BATCH = (
    1000  # paths noted as seen in one statement: a backup of unchanged files is mostly this
)
# The rows of a folder's files are read by one query when it holds at most this many (memory
# stays bounded); a larger folder is asked file by file.
FOLDER_ROWS = 2000
COLUMNS = "path, size, mtime_ns, ctime_ns, inode, sha256, chunks, read_at"
Row = tuple[str, int, int, int, int, str, str, float]


class CachedFile(NamedTuple):
    """What the last read of a file found (a tuple: one is made per unchanged file)."""

    sha256: str
    chunks: list[str]


def _signature(info: os.stat_result) -> tuple[int, int, int, int]:
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino


class FilesCache:
    """The files of one target already read, for one address key."""

    def __init__(self, path: Path | None, reread_days: float, now: float) -> None:
        if path is not None:
            make_private_dir(path.parent)
            if not path.exists():
                os.close(open_private_file(path))  # 0600 whatever the umask, before SQLite opens it
        self.connection = sqlite3.connect(str(path) if path else ":memory:")
        self.connection.executescript(SCHEMA)
        self.reread_seconds = reread_days * 86400
        self.now = now
        row = self.connection.execute("select max(generation) from files").fetchone()
        self.generation = (row[0] or 0) + 1
        self.seen: list[tuple[str]] = []
        self.folder: str | None = None
        self.folder_rows: dict[str, Row] | None = None
        self.last_row: Row | None = None  # the row ``lookup`` found last, matching or not

    def close(self, *, completed: bool) -> None:
        """Keep what this backup learnt when it ``completed`` (dropping the rows of files it did
        not meet), or nothing of it; then close. One transaction per backup, not per file."""
        if completed:
            self._mark_seen()
            self.connection.execute(
                "delete from files where generation < ? and path not in (select path from seen)",
                (self.generation,),
            )
            self.connection.commit()
        else:
            self.connection.rollback()
        self.connection.close()

    def lookup(self, path: str, info: os.stat_result) -> CachedFile | None:
        """Return the content of ``path`` when it is unchanged and not due to be read again."""
        # The rows of its folder, read at the folder's first file (a walk lists a folder's
        # files together); a file of a folder too large for that is asked alone.
        folder = path.rpartition("/")[0]
        if folder != self.folder:
            self.folder = folder
            self.folder_rows = self._folder_rows(folder) if folder else None
        rows = self.folder_rows
        row = rows.get(path) if rows is not None else self._row_alone(path)
        self.last_row = row
        if (
            row is None
            or row[1] != info.st_size
            or row[2] != info.st_mtime_ns
            or row[3] != info.st_ctime_ns
            or row[4] != info.st_ino
        ):
            return None
        if self._is_due(path, row):
            return None
        self.seen.append((path,))
        if len(self.seen) >= SEEN_BATCH:
            self._mark_seen()
        # tuple.__new__: the named tuple's own __new__ is a Python function, a call per file.
        return tuple.__new__(CachedFile, (row[5], row[6].split(" ") if row[6] else []))

    def grown(self, path: str, info: os.stat_result) -> tuple[int, CachedFile] | None:
        """Return the size and content of ``path`` at its last read (``lookup`` just found it
        changed) when it may only have grown since: the same inode, larger, in more than one
        blob, and its row not due to be read again. Whether its start is still that content
        is for the caller to check (by its sha256): nothing here says it was not edited too."""
        row = self.last_row
        if (
            row is None
            or row[0] != path
            or row[4] != info.st_ino
            or row[1] >= info.st_size
            or " " not in row[6]
        ):
            return None
        if self._is_due(path, row):
            return None
        return row[1], CachedFile(row[5], row[6].split(" "))

    def _is_due(self, path: str, row: Row) -> bool:
        """Return True when the file of ``row`` is due for its periodic full re-read."""
        age = self.now - row[7]
        # The spread is at least 0.5: a younger row is not due, whatever its path hashes to.
        return age >= self.reread_seconds * 0.5 and age >= self.reread_seconds * _spread(path)

    def folder_addresses(self) -> set[str]:
        """Return the blob addresses of the files of the folder last looked up (when its rows
        were read at once), for the caller to ask the destinations about them together."""
        rows = self.folder_rows.values() if self.folder_rows is not None else ()
        return {address for row in rows if row[6] for address in row[6].split(" ")}

    def _row_alone(self, path: str) -> Row | None:
        """Return the row of ``path``, asked alone."""
        found: Row | None = self.connection.execute(
            f"select {COLUMNS} from files where path = ?",
            (path,),
        ).fetchone()
        return found

    def _folder_rows(self, folder: str) -> dict[str, Row] | None:
        """Return the rows of the files right in ``folder``; None when there are too many."""
        prefix = folder + "/"
        rows: list[Row] = self.connection.execute(
            # Every name below the folder sorts between "folder/" and "folder0" ('/' < '0').
            f"select {COLUMNS} from files where path > ? and path < ? "
            "and instr(substr(path, ?), '/') = 0 limit ?",
            (prefix, folder + "0", len(prefix) + 1, FOLDER_ROWS + 1),
        ).fetchall()
        if len(rows) > FOLDER_ROWS:
            return None
        return {row[0]: row for row in rows}

    def _mark_seen(self) -> None:
        """Note the files met unchanged: their rows are kept, the others dropped at the end.
        Noted in a table of their own: appending a path costs half of updating its row."""
        self.connection.executemany("insert into seen values (?)", self.seen)
        self.seen.clear()

    def record(self, path: str, info: os.stat_result, content: CachedFile, read_at: float) -> None:
        """Remember what a read of ``path`` found (unless it was modified just before)."""
        if info.st_mtime_ns >= read_at * 1e9 - RACY_NANOSECONDS:
            return
        row = (path, *_signature(info), content.sha256, " ".join(content.chunks), read_at)
        self.connection.execute(
            "insert or replace into files values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*row, self.generation),
        )


def _spread(path: str) -> float:
    """Return a factor in [0.5, 1.0) fixed per path: re-reads spread over half the period."""
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).digest()
    return 0.5 + int.from_bytes(digest[:2], "big") / 131072
