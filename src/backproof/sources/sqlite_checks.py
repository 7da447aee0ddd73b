"""SQLite checks of a restored copy: integrity and foreign keys, and application queries."""

from __future__ import annotations

import sqlite3
import time

from backproof.sources.base import IntegrityReport

MAX_PROBLEMS = 20
# The progress handler runs every this many virtual-machine instructions.
_PROGRESS_STEPS = 10_000


def check_database(connection: sqlite3.Connection) -> IntegrityReport:
    """Run ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check``.

    Raises sqlite3.Error when the file cannot be read.
    """
    verdicts = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    orphans = connection.execute("PRAGMA foreign_key_check").fetchall()
    problems = [verdict for verdict in verdicts if verdict != "ok"]
    problems += [
        f"table {table}: row {rowid} refers to a missing row of {parent}"
        for table, rowid, parent, _key in orphans[:MAX_PROBLEMS]
    ]
    if len(orphans) > MAX_PROBLEMS:
        problems.append(f"and {len(orphans) - MAX_PROBLEMS} more rows without their parent")
    objects = connection.execute(
        "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'index')"
    ).fetchone()[0]
    return IntegrityReport(objects, "tables and indexes", problems)


def query_value(connection: sqlite3.Connection, query: str, timeout_seconds: float) -> object:
    """Return the first value of ``query`` (on a read-only connection), within the time.

    Raises sqlite3.Error when it fails, TimeoutError when it runs out of time.
    """
    deadline = time.monotonic() + timeout_seconds
    connection.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
    try:
        row = connection.execute(query).fetchone()
    except sqlite3.OperationalError as exc:
        if time.monotonic() > deadline:
            raise TimeoutError(f"cancelled after {timeout_seconds:g} s") from exc
        raise
    finally:
        connection.set_progress_handler(None, 0)
    return None if not row else row[0]
