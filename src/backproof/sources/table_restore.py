"""One table of a backup restored into another database: the interface and its engines.

Each engine module binds the database it restores into (``postgresql_table``, ``mysql_table``,
``sqlite_table``); ``open_table_target`` picks the one of a URL's engine.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol

from backproof.config.models import normalize_url_scheme
from backproof.errors import RestoreError
from backproof.sources.base import DataPartOpener
from backproof.sources.registry import engine_of

# How a user may name a table beside how the facts name it: PostgreSQL's facts leave out the
# default schema (``public.t`` is ``t`` there).
_DEFAULT_SCHEMA_PREFIX = {"postgresql": "public."}


class TableTarget(Protocol):
    """A database that receives one table of a backup."""

    def exists(self) -> bool:
        """Return True when the database exists."""
        ...

    def has_table(self, table: str) -> bool:
        """Return True when the database already has a table (or view) of that name."""
        ...

    def count_rows(self, table: str) -> int:
        """Return the number of rows of the table."""
        ...

    def restore_table(
        self,
        dump: BinaryIO,
        dump_format: str,
        table: str,
        replace: bool,
        data_part: DataPartOpener | None = None,
    ) -> None:
        """Restore the table ``table`` (as the facts name it) from the decoded ``dump``;
        ``replace`` lets it replace a table of that name. ``data_part`` opens the backup's
        second stream (PostgreSQL's dump in two: the largest tables' rows); None without one."""
        ...


def facts_table_names(engine: str, wanted: str) -> tuple[str, ...]:
    """Return the names under which the facts of a backup of ``engine`` may hold the table a
    user called ``wanted``, the name as written first."""
    prefix = _DEFAULT_SCHEMA_PREFIX.get(engine)
    if prefix and wanted.startswith(prefix):
        return (wanted, wanted.removeprefix(prefix))
    return (wanted,)


def open_table_target(url: str) -> TableTarget:
    """Return the database at ``url`` as the receiver of one table.

    Raises RestoreError for an engine that cannot receive one.
    """
    url = normalize_url_scheme(url)
    engine = engine_of(url)
    if engine == "sqlite":
        from backproof.sources.sqlite_table import SqliteTable  # noqa: PLC0415

        return SqliteTable(url)
    if engine == "postgresql":
        from backproof.sources.postgresql_table import PostgresqlTable  # noqa: PLC0415

        return PostgresqlTable(url)
    if engine == "mysql":
        from backproof.sources.mysql_table import MysqlTable  # noqa: PLC0415

        return MysqlTable(url)
    raise RestoreError(f"one table cannot be restored into a {engine} database")
