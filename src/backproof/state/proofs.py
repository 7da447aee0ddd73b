"""What the verifies of some backups found, folded from their rows (no SQLAlchemy here: `list`
reads them without it on a SQLite state database, ``state/sqlite_reads.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# The one statement of ``ActivityLog.proofs`` (SQLAlchemy, ``state/activity_statements.py``)
# and of ``SQLiteProofReader.proofs`` (sqlite3) reads these columns, oldest first.
ProofRow = tuple[Any, Any, datetime | None, dict[str, Any] | None]


@dataclass(frozen=True)
class Proofs:
    """What the verifies of some backups found, per backup id."""

    passed_at: dict[str, datetime]
    """When each backup last passed a verify."""
    latest: dict[str, tuple[str, datetime]]
    """The last finished verify's result (``success`` or ``failed``) and time."""
    depths: dict[str, str]
    """What the latest passed verify proved: ``content`` (every table's digest), ``files``, or
    ``counts`` (rows written before depths were recorded)."""


def collect_proofs(rows: Iterable[ProofRow]) -> Proofs:
    """Return the proofs of the verify rows ``(backup_id, status, finished_at, meta)``, read
    oldest first: a later row overrides an earlier one of the same backup."""
    found = Proofs({}, {}, {})
    for backup_id, status, finished_at, meta in rows:
        if finished_at is None:
            continue
        found.latest[str(backup_id)] = (str(status), finished_at)
        if status == "success":
            found.passed_at[str(backup_id)] = finished_at
            found.depths[str(backup_id)] = str((meta or {}).get("depth") or "counts")
    return found
