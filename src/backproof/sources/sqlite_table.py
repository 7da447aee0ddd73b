"""One table of a SQLite backup copied into another SQLite file (``restore --table``).

The backup's database part is the snapshot file itself: it is written to a private temporary
folder, attached read-only to the target, and the table's definition, its rows and its indexes
are copied in one transaction (a failure leaves the file as it was). Triggers are not copied:
they may name tables the file lacks. Generated columns are computed again, not copied.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote as quote_path

from backproof.errors import RestoreError
from backproof.privacy import open_private_file
from backproof.sources.base import DataPartOpener
from backproof.sources.sqlite import DUMP_FORMAT, connect, sqlite_path
from backproof.storage.base import CHUNK_BYTES

_ATTACHED = "backup"
_DEFINITION = "SELECT sql FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?"
_INDEXES = (
    "SELECT sql FROM {schema}.sqlite_master "
    "WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name"
)
# table_xinfo's ``hidden``: 0 a stored column; 2 and 3 generated columns (not inserted).
_STORED_COLUMN = 0


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteTable:
    """A SQLite file that receives one table of a backup."""

    def __init__(self, url: str) -> None:
        self.path = sqlite_path(url)

    def exists(self) -> bool:
        """Return True when the file exists and is not empty."""
        return self.path.is_file() and self.path.stat().st_size > 0

    def has_table(self, table: str) -> bool:
        """Return True when the file has a table, view or index of that name."""
        with connect(self.path, read_only=True) as link:
            row = link.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = ? COLLATE NOCASE", (table,)
            ).fetchone()
        return bool(row and row[0])

    def count_rows(self, table: str) -> int:
        """Return the number of rows of the table."""
        with connect(self.path, read_only=True) as link:
            row = link.execute(f"SELECT count(*) FROM main.{_quote(table)}").fetchone()
        return int(row[0]) if row else 0

    def restore_table(
        self,
        dump: BinaryIO,
        dump_format: str,
        table: str,
        replace: bool,
        data_part: DataPartOpener | None = None,
    ) -> None:
        """Copy the table ``table`` of the snapshot ``dump`` into the file.

        Raises RestoreError for another format or when SQLite refuses the copy (nothing of it
        then stays). ``data_part`` is ignored: a SQLite snapshot is one stream.
        """
        if dump_format != DUMP_FORMAT:
            raise RestoreError(f"a {dump_format} dump cannot be restored into SQLite")
        with tempfile.TemporaryDirectory(prefix="backproof-") as folder:
            snapshot = Path(folder) / "snapshot.sqlite"
            with os.fdopen(open_private_file(snapshot), "wb") as output:
                shutil.copyfileobj(dump, output, CHUNK_BYTES)
            try:
                self._copy(snapshot, table, replace)
            except sqlite3.Error as exc:
                raise RestoreError(f"cannot copy table {table} into {self.path}: {exc}") from exc

    def _copy(self, snapshot: Path, table: str, replace: bool) -> None:
        with connect(self.path, read_only=False) as link:
            link.isolation_level = None  # transactions are begun and ended here
            uri = f"file:{quote_path(str(snapshot))}?mode=ro&immutable=1"
            link.execute(f"ATTACH DATABASE ? AS {_ATTACHED}", (uri,))
            try:
                link.execute("BEGIN IMMEDIATE")
                try:
                    self._copy_in_transaction(link, table, replace)
                except BaseException:
                    link.execute("ROLLBACK")
                    raise
                link.execute("COMMIT")
            finally:
                link.execute(f"DETACH DATABASE {_ATTACHED}")

    def _copy_in_transaction(self, link: sqlite3.Connection, table: str, replace: bool) -> None:
        row = link.execute(_DEFINITION.format(schema=_ATTACHED), (table,)).fetchone()
        if row is None or not str(row[0]).upper().startswith("CREATE TABLE"):
            raise RestoreError(f"the backup has no table {table!r}")
        if replace:
            link.execute(f"DROP TABLE IF EXISTS main.{_quote(table)}")
        link.execute(str(row[0]))
        columns = [
            _quote(str(column[1]))
            for column in link.execute(f"PRAGMA {_ATTACHED}.table_xinfo({_quote(table)})")
            if column[6] == _STORED_COLUMN
        ]
        listed = ", ".join(columns)
        link.execute(
            f"INSERT INTO main.{_quote(table)} ({listed}) "
            f"SELECT {listed} FROM {_ATTACHED}.{_quote(table)}"
        )
        for (definition,) in link.execute(_INDEXES.format(schema=_ATTACHED), (table,)).fetchall():
            link.execute(str(definition))
