"""Doctor's checks of each destination (reachable, writable) and of the free space a verify
needs for its scratch copy."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from backproof.archive.catalog import scan_target
from backproof.archive.skew import flag_skewed
from backproof.config.models import DestinationSettings, Settings, TargetSettings
from backproof.doctor.checks import DoctorCheck, failed, ok, warning
from backproof.doctor.safety import local_destination_path
from backproof.errors import BackproofError
from backproof.jobs.scratch_servers import open_scratch_server
from backproof.storage.registry import open_storage
from backproof.units import format_size_bytes

# A verify holds the restored copy and SQLite's journal; below this much room it may fail.
ROOM_FACTOR = 2


def check_destinations(settings: Settings, _now: datetime) -> Iterator[DoctorCheck]:
    """Every destination: reachable (listing works) and, when local, writable."""
    for destination in settings.destinations:
        name = f"destination {destination.name}"
        try:
            yield _check_destination(destination, name)
        except BackproofError as exc:
            yield failed(name, " ".join(str(exc).split()))


def _check_destination(destination: DestinationSettings, name: str) -> DoctorCheck:
    path = local_destination_path(destination.url)
    if path is not None and not path.exists():
        parent = nearest_existing(path)
        if not os.access(parent, os.W_OK | os.X_OK):
            return failed(name, f"{path} does not exist and {parent} is not writable")
        return warning(name, f"{path} does not exist yet: the first backup makes it")
    if path is not None and not os.access(path, os.W_OK | os.X_OK):
        return failed(name, f"{path} is not writable by this user")
    storage = open_storage(destination)
    next(iter(storage.list_objects("")), None)
    return ok(name, f"{storage.describe()} reachable")


def nearest_existing(path: Path) -> Path:
    """Return ``path`` or its nearest ancestor that exists."""
    return next(folder for folder in [path, *path.parents] if folder.exists())


def check_verify_space(settings: Settings, now: datetime) -> Iterator[DoctorCheck]:
    """Free space for the scratch copy of the newest backup, where verify makes it locally."""
    for target in settings.targets:
        if not target.database:
            continue
        name = f"verify space {target.name}"
        folder = _local_scratch_folder(settings, target)
        if folder is None:
            yield ok(name, "scratch databases are made on the database server (not measured)")
            continue
        needed = _newest_raw_size(settings, target, now)
        free = shutil.disk_usage(nearest_existing(folder)).free
        yield _judge_space(name, folder, needed, free)


def _local_scratch_folder(settings: Settings, target: TargetSettings) -> Path | None:
    return open_scratch_server(settings, target, with_password=False).local_folder


def _newest_raw_size(settings: Settings, target: TargetSettings, now: datetime) -> int | None:
    listing = scan_target(open_storage(settings.destination(None)), target.name)
    flagged = flag_skewed(listing.committed, listing.stored_at, now)
    believed = [manifest for manifest in listing.committed if manifest.id not in flagged]
    return believed[0].database_raw_size_bytes if believed else None


def _judge_space(name: str, folder: Path, needed: int | None, free: int) -> DoctorCheck:
    where = f"{format_size_bytes(free)} free for scratch copies in {folder}"
    if needed is None:
        return ok(name, f"{where}; no backup yet to compare with")
    wanted = f"the newest dump restores to {format_size_bytes(needed)}"
    if free < needed:
        return failed(name, f"{where}, but {wanted}: verify would run out of space")
    if free < needed * ROOM_FACTOR:
        return warning(name, f"{where}, {wanted}: little room to spare")
    return ok(name, f"{where}; {wanted}")
