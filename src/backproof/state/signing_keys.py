"""The public keys of the manifest signing keys backproof generated, in ``ops_signing_keys``.

The storage is the least trusted place (see docs/security.md); the state database is not
writable by a storage writer, so the keys recorded here are the ones verify trusts when the
configuration names none.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from backproof.state.schema import ops_signing_keys as table


@dataclass(frozen=True)
class RecordedKey:
    """One generated key pair's public half, as recorded."""

    fingerprint: str
    public_key: str
    created_at: datetime
    host: str | None
    key_file: str | None


def record_signing_key(
    engine: Engine, fingerprint: str, public_key: str, key_file: Path, now: datetime
) -> bool:
    """Record a public key unless it is already there; return True when it was added."""
    values = {
        "fingerprint": fingerprint,
        "public_key": public_key,
        "created_at": now,
        "host": socket.gethostname(),
        "key_file": str(key_file),
    }
    try:
        with engine.begin() as connection:
            present = connection.execute(
                sa.select(table.c.fingerprint).where(table.c.fingerprint == fingerprint)
            ).first()
            if present is not None:
                return False
            connection.execute(sa.insert(table).values(**values))
    except sa.exc.IntegrityError:  # another backup recorded it between the select and the insert
        return False
    return True


def recorded_signing_keys(engine: Engine) -> list[RecordedKey]:
    """Return every recorded key, newest first."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table).order_by(table.c.created_at.desc())).all()
    return [
        RecordedKey(row.fingerprint, row.public_key, row.created_at, row.host, row.key_file)
        for row in rows
    ]
