"""Backups whose times cannot be believed: a pure decision on a manifest and the storage's time.

A backup made while the host's clock was wrong (or a manifest forged with a date far ahead) must
not become "newest": verify would prove that stale backup forever, and retention would delete
the real newest backups under the storage cap to keep it. So the times a manifest claims are
checked against what the manifest cannot set: the clock of the host looking at it, the time
encoded in the backup id, and the storage's own timestamp of the manifest (S3 ``LastModified``,
a file's mtime). A backup that fails one is *flagged*: kept, listed with a warning, never chosen
as newest.

A manifest dated *earlier* than its storage timestamp is not flagged: copying backups between
buckets or folders (``aws s3 sync``, ``cp``) stamps them with the copy time.
"""

from __future__ import annotations

from datetime import datetime

from backproof.archive.manifest import Manifest, parse_backup_time
from backproof.clock import SKEW_TOLERANCE, isoformat


def clock_skew(manifest: Manifest, stored_at: datetime | None, now: datetime) -> str | None:
    """Return why the backup's times cannot be believed, in words; None when they agree."""
    created, finished = manifest.created_at, manifest.finished_at
    if created > now + SKEW_TOLERANCE or finished > now + SKEW_TOLERANCE:
        return (
            f"dated {isoformat(max(created, finished))}, ahead of the clock ({isoformat(now)}): "
            "made while the backup host's clock was wrong, or forged"
        )
    id_time = parse_backup_time(manifest.id)
    if id_time is None or abs(id_time - created) > SKEW_TOLERANCE:
        return (
            f"its id says {isoformat(id_time) or 'no time'}, its manifest says created "
            f"{isoformat(created)}"
        )
    if finished < created - SKEW_TOLERANCE:
        return f"it finished ({isoformat(finished)}) before it started ({isoformat(created)})"
    if stored_at is not None and finished > stored_at + SKEW_TOLERANCE:
        return (
            f"dated {isoformat(finished)}, after the storage wrote its manifest "
            f"({isoformat(stored_at)}): made while the backup host's clock was wrong, or forged"
        )
    return None


def flag_skewed(
    manifests: list[Manifest], stored_at: dict[str, datetime], now: datetime
) -> dict[str, str]:
    """Return the id and reason of every flagged backup among ``manifests``."""
    flagged: dict[str, str] = {}
    for manifest in manifests:
        reason = clock_skew(manifest, stored_at.get(manifest.id), now)
        if reason is not None:
            flagged[manifest.id] = reason
    return flagged
