"""Rolling re-verification: which kept backups a scheduled verify proves again (pure).

Only the newest backup is proved on its day; the others were proved once and the storage under
them may have rotted since. So each scheduled verify also proves again the kept backups whose
last proof is oldest (never proved first, then the oldest proof), as many as it takes for every
kept backup to be proved within ``reprove_days`` when the verify runs once a day:
``ceil(kept / reprove_days)``. A backup whose latest proof failed comes before all of them (a
failure of the verify server must not leave it failed for ``reprove_days``). A backup proved
within the last ``RECENT`` is not proved again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

RECENT = timedelta(hours=20)


@dataclass(frozen=True)
class KeptBackup:
    """A committed backup, when a verify last finished on it (None: never) and whether that
    verify failed."""

    id: str
    created_at: datetime
    last_proof_at: datetime | None
    last_proof_failed: bool = False


def plan_reproofs(
    backups: Sequence[KeptBackup], now: datetime, reprove_days: int, skip: Sequence[str] = ()
) -> list[str]:
    """Return the ids to prove again now, the most overdue first; ``skip`` (the backup the
    verify proves anyway) is never among them."""
    per_run = max(1, math.ceil(len(backups) / reprove_days))
    candidates = [
        backup
        for backup in backups
        if backup.id not in skip
        and (backup.last_proof_at is None or now - backup.last_proof_at >= RECENT)
    ]
    candidates.sort(key=_overdue_first)
    return [backup.id for backup in candidates[:per_run]]


def _overdue_first(backup: KeptBackup) -> tuple[bool, bool, datetime, datetime]:
    never = backup.last_proof_at is None
    at = backup.last_proof_at or backup.created_at
    return (not backup.last_proof_failed, not never, at, backup.created_at)
