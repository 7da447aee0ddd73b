"""The alert state in the state database (``ops_alerts``): the only code that reads or writes it.

Writes are compare-and-set on ``version``: a row is changed only if it is still the row the
decision was made from, and a new row is inserted only if no other process inserted it first.
That is what makes the rate limit hold across processes, hosts and restarts, on every engine
(SQLite, PostgreSQL, MySQL) without table locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from backproof.state.schema import ops_alerts as table


@dataclass(frozen=True)
class AlertRow:
    """The stored state of one event key (a row of ``ops_alerts``)."""

    key: str
    target: str | None
    active: bool = False
    occurrence: str | None = None
    last_sent_at: datetime | None = None
    suppressed_count: int = 0
    pending: dict[str, Any] | None = None
    updated_at: datetime | None = None
    version: int = 0


class AlertStore:
    """Reads and writes the rows of ``ops_alerts``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def rows(self, target: str | None) -> dict[str, AlertRow]:
        """Return the rows of one target's keys, by key."""
        statement = sa.select(table).where(
            table.c.target.is_(None) if target is None else table.c.target == target
        )
        with self.engine.connect() as connection:
            return {row.key: row for row in map(_to_row, connection.execute(statement))}

    def get(self, key: str) -> AlertRow | None:
        """Return the row of ``key``, or None when it has none."""
        with self.engine.connect() as connection:
            found = connection.execute(sa.select(table).where(table.c.key == key)).first()
        return None if found is None else _to_row(found)

    def save(self, before: AlertRow | None, after: AlertRow | None) -> bool:
        """Replace ``before`` by ``after`` if the stored row is still ``before``; return whether
        it was. ``before`` None inserts ``after``; ``after`` None deletes ``before``."""
        try:
            with self.engine.begin() as connection:
                if before is None:
                    if after is None:
                        return False
                    connection.execute(sa.insert(table).values(**_values(after)))
                    return True
                same = sa.and_(table.c.key == before.key, table.c.version == before.version)
                if after is None:
                    result = connection.execute(sa.delete(table).where(same))
                else:
                    result = connection.execute(
                        sa.update(table).where(same).values(**_values(after))
                    )
                return result.rowcount == 1
        except sa.exc.IntegrityError:
            # Another process inserted the key first: that process made this decision.
            return False


def _values(row: AlertRow) -> dict[str, Any]:
    return {
        "key": row.key,
        "target": row.target,
        "active": row.active,
        "occurrence": row.occurrence,
        "last_sent_at": row.last_sent_at,
        "suppressed_count": row.suppressed_count,
        "pending": row.pending,
        "updated_at": row.updated_at,
        "version": row.version,
    }


def _to_row(row: sa.Row[Any]) -> AlertRow:
    values = row._mapping
    return AlertRow(
        key=values["key"],
        target=values["target"],
        active=bool(values["active"]),
        occurrence=values["occurrence"],
        last_sent_at=values["last_sent_at"],
        suppressed_count=int(values["suppressed_count"]),
        pending=dict(values["pending"]) if values["pending"] else None,
        updated_at=values["updated_at"],
        version=int(values["version"]),
    )
