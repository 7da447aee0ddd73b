"""What backups a destination holds: committed ones (with a manifest) and debris (without).

The same for every backend: it only lists keys and reads manifests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError

from backproof.archive.manifest import MANIFEST_NAME, Manifest
from backproof.errors import IntegrityError, NotFoundError
from backproof.storage.base import Storage


@dataclass
class TargetListing:
    """The backups of one target on one destination."""

    committed: list[Manifest] = field(default_factory=list)
    debris: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    # The storage's own time of each backup's manifest (None where the backend has none).
    stored_at: dict[str, datetime] = field(default_factory=dict)


def manifest_key(target: str, backup_id: str) -> str:
    """Return the key of a backup's manifest."""
    return f"{target}/{backup_id}/{MANIFEST_NAME}"


def part_key(target: str, backup_id: str, file_name: str) -> str:
    """Return the key of a backup's part."""
    return f"{target}/{backup_id}/{file_name}"


def backup_prefix(target: str, backup_id: str) -> str:
    """Return the prefix of every key of a backup."""
    return f"{target}/{backup_id}/"


def parse_manifest(data: bytes, where: str) -> Manifest:
    """Parse manifest bytes; IntegrityError naming ``where`` when they are not a manifest."""
    try:
        return Manifest.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise IntegrityError(f"{where}: manifest is invalid at {location}: {first['msg']}") from exc


def load_manifest(storage: Storage, target: str, backup_id: str) -> Manifest:
    """Read and parse one manifest; NotFoundError or IntegrityError."""
    key = manifest_key(target, backup_id)
    manifest = parse_manifest(storage.get_bytes(key), f"{storage.name}:{key}")
    if manifest.id != backup_id or manifest.target != target:
        raise IntegrityError(
            f"{storage.name}:{key}: manifest names backup {manifest.target}/{manifest.id}"
        )
    return manifest


def scan_target(storage: Storage, target: str) -> TargetListing:
    """List a target's backups on ``storage``: committed newest first, debris, unreadable."""
    sizes: dict[str, int] = {}
    stored_at: dict[str, datetime] = {}
    with_manifest: set[str] = set()
    for stored in storage.list_objects(f"{target}/"):
        parts = stored.key.split("/")
        if len(parts) != 3:
            continue
        backup_id, name = parts[1], parts[2]
        sizes[backup_id] = sizes.get(backup_id, 0) + stored.size_bytes
        if name == MANIFEST_NAME:
            with_manifest.add(backup_id)
            if stored.modified_at is not None:
                stored_at[backup_id] = stored.modified_at
    listing = TargetListing(sizes=sizes, stored_at=stored_at)
    for backup_id in sorted(sizes, reverse=True):
        if backup_id not in with_manifest:
            listing.debris.append(backup_id)
            continue
        try:
            listing.committed.append(load_manifest(storage, target, backup_id))
        except IntegrityError as exc:
            listing.unreadable[backup_id] = str(exc)
        except NotFoundError:
            continue  # deleted by a cleanup since the listing: no longer a backup
    return listing
