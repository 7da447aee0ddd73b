"""``backproof check``: the parts of every kept backup on every destination, without a restore.

Each part must exist with the size its manifest records; with ``read_data`` it is read whole
and its sha256 compared too (all of them, or the rotating subset of the day). A backup whose
files are in the files store also has every blob of every file looked up in the packs the
destination holds; with ``read_data`` the chosen files are read from their packs and checked
against their addresses and sha256s. A finding (a missing, short or corrupt part or pack, an
unreadable manifest) fails the run, naming the backup (and the files that depend on a pack).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backproof.archive.catalog import backup_prefix, part_key, scan_target
from backproof.archive.encryption import ReadingKeys
from backproof.archive.manifest import Manifest, Part
from backproof.archive.parts import check_part
from backproof.errors import BackproofError, IntegrityError
from backproof.jobs.context import Context
from backproof.jobs.files_store import cache_dir, uses_store
from backproof.jobs.keyring import reading_keys
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
    files_checked: int = 0
    files_read: int = 0
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
        meta.files_checked, meta.files_read = result.files_checked, result.files_read
        meta.findings = result.findings
        record.message = describe_scrub(result)
        if result.findings:
            raise IntegrityError(f"check of {target} found: " + "; ".join(result.findings[:8]))
        return result


@dataclass
class _Scrub:
    """One check's settings and what it found so far, on one destination."""

    context: Context
    storage: Storage
    result: ScrubResult
    read_data: bool
    subset_percent: float | None


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
    scrub = _Scrub(context, storage, result, read_data, subset_percent)
    for manifest in listing.committed:
        result.backups += 1
        healthy = _scrub_parts(scrub, manifest)
        if uses_store(manifest) and "files" in healthy:
            _scrub_store(scrub, manifest)


def _scrub_parts(scrub: _Scrub, manifest: Manifest) -> set[str]:
    """Check each part of one backup; return the names of the parts found whole."""
    storage, result, percent = scrub.storage, scrub.result, scrub.subset_percent
    today = scrub.context.clock().date()
    stored = {
        item.key: item.size_bytes
        for item in storage.list_objects(backup_prefix(result.target, manifest.id))
    }
    healthy: set[str] = set()
    for part in manifest.parts:
        key = part_key(result.target, manifest.id, part.file)
        result.parts_checked += 1
        finding = _check_size(storage, manifest, part.file, stored.get(key), part.size_bytes)
        read = scrub.read_data if percent is None else is_read_today(key, today, percent)
        if finding is None and read:
            finding = _read_whole(storage, key, manifest, part, result)
        if finding is None:
            healthy.add(part.name)
        else:
            result.findings.append(finding)
    return healthy


def _scrub_store(scrub: _Scrub, manifest: Manifest) -> None:
    """Check that the files of a files-store backup are in the destination's packs; with
    ``read_data``, read the chosen files (all, or the day's window) from their packs."""
    # The store's reader loads only for a backup whose files are in it (issue 12).
    from backproof.filestore.proving import check_store, rolling_window, verify_store  # noqa: PLC0415

    keys: ReadingKeys = reading_keys(scrub.context)
    folder = cache_dir(scrub.context.settings)
    storage, result, percent = scrub.storage, scrub.result, scrub.subset_percent
    try:
        if scrub.read_data or percent is not None:
            day = scrub.context.clock().toordinal()
            chosen = rolling_window(percent if percent is not None else 100, day)
            facts, read = verify_store(storage, manifest, keys, folder, chosen)
            result.files_checked += facts.regular_files
            result.files_read += read
        else:
            result.files_checked += check_store(storage, manifest, keys, folder)
    except BackproofError as exc:
        result.findings.append(f"{storage.name}: {exc}")


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
    files = f", {result.files_checked} stored files looked up in their packs"
    files_read = f" ({result.files_read} read)"
    found = f"{len(result.findings)} problems" if result.findings else "no problem"
    return (
        f"{result.parts_checked} parts of {result.backups} backups checked"
        f"{read if result.parts_read else ''}"
        f"{files if result.files_checked else ''}{files_read if result.files_read else ''}"
        f": {found}"
    )
