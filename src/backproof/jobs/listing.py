"""The committed backups of a target, newest first, with whether and when each was verified."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backproof.archive.catalog import scan_target
from backproof.archive.manifest import Manifest
from backproof.archive.skew import flag_skewed
from backproof.clock import isoformat
from backproof.jobs.context import Context

PROOF_RESULTS = {"success": "passed", "failed": "failed"}


@dataclass(frozen=True)
class ListedBackup:
    """One committed backup as ``list`` shows it."""

    manifest: Manifest
    destination: str
    size_bytes: int
    verified_at: datetime | None
    proof: str = "never"
    """The latest verify's result: ``passed``, ``failed`` or ``never``."""
    proof_at: datetime | None = None
    depth: str | None = None
    """What the latest passed verify proved: ``content``, ``counts`` or ``files``."""
    clock_warning: str | None = None
    """Why the backup's times cannot be believed (it is never "newest"); None when they can."""

    def to_json(self) -> dict[str, Any]:
        """Return the object of ``list --json``."""
        return {
            "id": self.manifest.id,
            "target": self.manifest.target,
            "destination": self.destination,
            "created_at": isoformat(self.manifest.created_at),
            "size_bytes": self.size_bytes,
            "parts": [part.model_dump() for part in self.manifest.parts],
            "tables": dict(self.manifest.facts.tables),
            "verified": self.verified_at is not None,
            "verified_at": isoformat(self.verified_at),
            "proof": {"result": self.proof, "at": isoformat(self.proof_at), "depth": self.depth},
            "clock_warning": self.clock_warning,
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
        ids = [manifest.id for manifest in listing.committed]
        proofs = context.proofs(name, ids)
        flagged = flag_skewed(listing.committed, listing.stored_at, context.clock())
        for manifest in listing.committed:
            status, proof_at = proofs.latest.get(manifest.id, ("never", None))
            listed.append(
                ListedBackup(
                    manifest,
                    storage.name,
                    manifest.size_bytes,  # the size every other view shows: its parts
                    proofs.passed_at.get(manifest.id),
                    PROOF_RESULTS.get(status, status),
                    proof_at,
                    proofs.depths.get(manifest.id),
                    flagged.get(manifest.id),
                )
            )
    return sorted(listed, key=lambda item: item.manifest.created_at, reverse=True)
