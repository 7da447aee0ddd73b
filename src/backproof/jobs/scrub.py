"""``backproof check``: the parts of every kept backup on every destination, without a restore.

Each part must exist with the size its manifest records; with ``read_data`` it is read whole
and its sha256 compared too (all of them, or the rotating subset of the day). A finding (a
missing, short or corrupt part, an unreadable manifest) fails the run, naming the backup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backproof.archive.catalog import backup_prefix, part_key, scan_target
from backproof.archive.manifest import Manifest, Part
from backproof.archive.parts import check_part
from backproof.errors import BackproofError, IntegrityError
from backproof.jobs.context import Context
from backproof.jobs.lifecycle import recorded_run
from backproof.scrub import is_read_today
from backproof.state.records import ScrubMeta
from backproof.storage.base import Storage


@dataclass
class ScrubResult:
    """What a check of one target looked at and found."""

    target: str
    backups: int = 0
    parts_checked: int = 0
    parts_read: int = 0
    bytes_read: int = 0
    findings: list[str] = field(default_factory=list)


def run_scrub(
    context: Context,
    target_name: str | None = None,
    *,
    read_data: bool = False,
    subset_percent: float | None = None,
) -> ScrubResult:
    """Check the parts of every committed backup of the target on every destination.

    ``subset_percent`` reads that share of the parts whole (a different share each day);
    ``read_data`` without it reads them all. Raises IntegrityError listing the findings.
    """
    target = context.settings.target(target_name).name
    meta = ScrubMeta(read_data=read_data or subset_percent is not None)
    if subset_percent is not None:
        meta.subset_percent = subset_percent
    with recorded_run(context, meta, target) as record:
        result = ScrubResult(target)
        for destination in context.settings.destinations:
            storage = context.storage(destination.name)
            _scrub_destination(context, storage, result, read_data, subset_percent)
        meta.backups, meta.parts_checked = result.backups, result.parts_checked
        meta.parts_read, meta.bytes_read = result.parts_read, result.bytes_read
        meta.findings = result.findings
        record.message = describe_scrub(result)
        if result.findings:
            raise IntegrityError(f"check of {target} found: " + "; ".join(result.findings[:8]))
        return result


def _scrub_destination(
    context: Context,
    storage: Storage,
    result: ScrubResult,
    read_data: bool,
    subset_percent: float | None,
) -> None:
    try:
        listing = scan_target(storage, result.target)
    except BackproofError as exc:
        result.findings.append(f"{storage.name}: cannot list the backups: {exc}")
        return
    result.findings += [
        f"{storage.name}: backup {backup_id} has an unreadable manifest: {why}"
        for backup_id, why in listing.unreadable.items()
    ]
    today = context.clock().date()
    for manifest in listing.committed:
        result.backups += 1
        stored = {
            item.key: item.size_bytes
            for item in storage.list_objects(backup_prefix(result.target, manifest.id))
        }
        for part in manifest.parts:
            key = part_key(result.target, manifest.id, part.file)
            result.parts_checked += 1
            finding = _check_size(storage, manifest, part.file, stored.get(key), part.size_bytes)
            if subset_percent is not None:
                read_data = is_read_today(key, today, subset_percent)
            if finding is None and read_data:
                finding = _read_whole(storage, key, manifest, part, result)
            if finding is not None:
                result.findings.append(finding)


def _check_size(
    storage: Storage, manifest: Manifest, file: str, size: int | None, expected: int
) -> str | None:
    where = f"{storage.name}: backup {manifest.id} part {file}"
    if size is None:
        return f"{where} is missing"
    if size != expected:
        return f"{where} is {size} bytes, the manifest says {expected}"
    return None


def _read_whole(
    storage: Storage, key: str, manifest: Manifest, part: Part, result: ScrubResult
) -> str | None:
    result.parts_read += 1
    result.bytes_read += part.size_bytes
    try:
        check_part(storage, key, part)
    except BackproofError as exc:
        return f"backup {manifest.id}: {exc}"
    return None


def describe_scrub(result: ScrubResult) -> str:
    """Return what a check looked at and found, in one line."""
    read = f", {result.parts_read} read whole ({result.bytes_read:,} bytes)"
    found = f"{len(result.findings)} problems" if result.findings else "no problem"
    return (
        f"{result.parts_checked} parts of {result.backups} backups checked"
        f"{read if result.parts_read else ''}: {found}"
    )
