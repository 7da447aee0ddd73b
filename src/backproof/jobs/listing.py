"""The committed backups of a target, newest first, with whether and when each was verified."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backproof.archive.catalog import scan_target
from backproof.archive.manifest import Manifest
from backproof.clock import isoformat
from backproof.jobs.context import Context


@dataclass(frozen=True)
class ListedBackup:
    """One committed backup as ``list`` shows it."""

    manifest: Manifest
    destination: str
    size_bytes: int
    verified_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        """Return the object of ``list --json``."""
        return {
            "id": self.manifest.id,
            "target": self.manifest.target,
            "destination": self.destination,
            "created_at": isoformat(self.manifest.created_at),
            "size_bytes": self.size_bytes,
            "parts": [part.model_dump() for part in self.manifest.parts],
            "verified": self.verified_at is not None,
            "verified_at": isoformat(self.verified_at),
        }


def list_backups(
    context: Context, target_name: str | None = None, destination_name: str | None = None
) -> list[ListedBackup]:
    """Return committed backups of one target or all on a destination, newest first."""
    storage = context.storage(destination_name)
    names = (
        [context.settings.target(target_name).name]
        if target_name
        else [target.name for target in context.settings.targets]
    )
    listed: list[ListedBackup] = []
    for name in names:
        listing = scan_target(storage, name)
        verified = context.activities.verified_backups(name, [m.id for m in listing.committed])
        listed += [
            ListedBackup(
                manifest, storage.name, listing.sizes.get(manifest.id, 0), verified.get(manifest.id)
            )
            for manifest in listing.committed
        ]
    return sorted(listed, key=lambda item: item.manifest.created_at, reverse=True)
