"""`list`'s read of a SQLite state database through the standard library's sqlite3.

Importing SQLAlchemy was half of `list`'s start-up (issue 12, docs/performance.md). `list` reads
one thing from the state database, what the verifies of the listed backups found; on a SQLite
file already at the newest schema it reads that here, with the same statement as
``ActivityLog.proofs`` (a test runs both on one history). Anything else (no file yet, a
migration due, a server database, a file sqlite3 cannot read) gives no reader, and the caller
opens the audit trail as every command does: migrated, its errors reported.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from backproof.errors import ConfigError
from backproof.privacy import make_private_dir
from backproof.state.proofs import ProofRow, Proofs, collect_proofs

# The newest migration. Every command checks it against the database with one query and loads
# Alembic only when a migration is due; a test keeps it equal to Alembic's head.
SCHEMA_HEAD = "0005"
# ``proofs_statement()`` of ``state/activity_statements.py``, written for SQLite.
PROOFS_SQL = (
    "SELECT backup_id, status, finished_at, meta FROM ops_activities"
    " WHERE job = 'verify' AND target = ? AND status IN ('success', 'failed')"
    " AND backup_id IN ({marks}) ORDER BY finished_at, id"
)


def sqlite_state_file(url: str) -> Path | None:
    """Return the file of a ``sqlite:////absolute/path`` state URL (as loading the settings
    writes it), None for any other URL (a server, a driver named, a query, in memory)."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.query or parts.fragment or parts.netloc:
        return None
    path = unquote(parts.path)
    return Path(path[1:]) if path.startswith("//") else None


def prepare_sqlite_file(database: str | None) -> None:
    """Create the state's SQLite file and its folder, private (0600, 0700), when missing.

    Raises ConfigError when a parent of the path is a file or the folder cannot be made.
    """
    if not database or database == ":memory:":
        return
    path = Path(database)
    blocking = next((folder for folder in path.parents if folder.is_file()), None)
    if blocking is not None:
        raise ConfigError(
            [
                f"at state.url: {blocking} is a file, so {path} cannot be made below it: "
                "choose a path in a folder"
            ]
        )
    try:
        make_private_dir(path.parent)
    except OSError as exc:
        raise ConfigError(
            [f"at state.url: cannot create the folder {path.parent}: {exc.strerror or exc}"]
        ) from exc
    if not path.exists():
        descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(descriptor)
    path.chmod(0o600)


class SQLiteProofReader:
    """Reads what verifies found from a SQLite state database at ``SCHEMA_HEAD``."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    @classmethod
    def open(cls, url: str) -> SQLiteProofReader | None:
        """Return a reader of the state database at ``url``; None unless it is an existing
        SQLite file at the newest schema (then the caller opens it through SQLAlchemy, which
        creates or migrates it and reports what is wrong)."""
        path = sqlite_state_file(url)
        if path is None or not path.is_file():
            return None
        prepare_sqlite_file(str(path))  # private, as every opening leaves it
        try:
            connection = sqlite3.connect(path, timeout=30)
        except sqlite3.Error:
            return None
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            row = None
        if row is None or row[0] != SCHEMA_HEAD:
            connection.close()
            return None
        return cls(connection)

    def proofs(self, target: str, backup_ids: Iterable[str]) -> Proofs:
        """Return what the verifies of ``backup_ids`` of ``target`` found (as
        ``ActivityLog.proofs``)."""
        ids = list(backup_ids)
        if not ids:
            return collect_proofs([])
        statement = PROOFS_SQL.format(marks=", ".join("?" * len(ids)))
        rows = self.connection.execute(statement, [target, *ids])
        return collect_proofs(_decoded(row) for row in rows)  # oldest first


def _decoded(row: tuple[Any, ...]) -> ProofRow:
    """Return a row as SQLAlchemy's types return it: times aware UTC, ``meta`` decoded."""
    backup_id, status, finished_at, meta = row
    return (backup_id, status, _utc(finished_at), None if meta is None else json.loads(meta))


def _utc(value: str | None) -> datetime | None:
    """Read a time SQLAlchemy stored on SQLite (naive UTC text) as an aware UTC time."""
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)
