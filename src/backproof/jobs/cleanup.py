"""CleanupBackupsJob: the retention policy and the storage cap on every destination, and debris."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backproof.archive.catalog import backup_prefix, manifest_key, scan_target
from backproof.archive.manifest import parse_backup_time
from backproof.archive.skew import flag_skewed
from backproof.errors import StorageError
from backproof.filestore.collection import Collection, Horizon, collect_garbage, packs_named
from backproof.jobs.context import Context
from backproof.jobs.lifecycle import recorded_run
from backproof.retention import (
    BackupEntry,
    RetentionPlan,
    kept_size,
    plan_debris,
    plan_retention,
)
from backproof.state.records import CleanupMeta, FilesCollected, StoredSummary
from backproof.storage.base import Storage


@dataclass
class DestinationCleanup:
    """What cleanup did (or, with --dry-run, would do) on one destination."""

    destination: str
    kept: list[str]
    deleted: dict[str, str]
    debris: list[str]
    incomplete_uploads: list[str] = field(default_factory=list)
    # Backups whose times cannot be believed: kept, never newest (id → reason).
    flagged: dict[str, str] = field(default_factory=dict)
    # What the destination holds once cleanup is done (with --dry-run: as it was), recorded so
    # that metrics count backups per destination without listing storage at scrape time.
    stored_backups: int = 0
    stored_size_bytes: int = 0
    collection: Collection | None = None


@dataclass
class CleanupResult:
    """Cleanup of one target."""

    target: str
    dry_run: bool
    destinations: list[DestinationCleanup]

    @property
    def deleted_count(self) -> int:
        """Return how many committed backups were (or would be) deleted."""
        return sum(len(item.deleted) for item in self.destinations)


def run_cleanup(
    context: Context, target_name: str | None = None, dry_run: bool = False
) -> CleanupResult:
    """Apply retention to one target on every destination; with ``dry_run`` delete nothing."""
    target = context.settings.target(target_name)
    with recorded_run(context, CleanupMeta(), target.name) as record:
        outcomes: list[DestinationCleanup] = []
        failures: dict[str, StorageError] = {}
        for storage in context.all_storages().values():
            try:  # one unreachable destination does not keep the others from being cleaned
                outcomes.append(_clean_destination(context, storage, target.name, dry_run))
            except StorageError as exc:
                failures[storage.name] = exc
        result = CleanupResult(target.name, dry_run, outcomes)
        record.meta = _describe(dry_run, outcomes, failures)
        verb = "would delete" if dry_run else "deleted"
        freed = sum(item.collection.freed_bytes for item in outcomes if item.collection)
        record.message = (
            f"{verb} {result.deleted_count} backups and "
            f"{sum(len(item.debris) for item in outcomes)} debris"
            + (f"; {'would free' if dry_run else 'freed'} {freed} bytes of packs" if freed else "")
        )
        if failures:
            raise StorageError("; ".join(str(error) for error in failures.values()))
        return result


def _describe(
    dry_run: bool, outcomes: list[DestinationCleanup], failures: dict[str, StorageError]
) -> CleanupMeta:
    return CleanupMeta(
        dry_run=dry_run,
        deleted={item.destination: sorted(item.deleted) for item in outcomes},
        clock_skew={item.destination: item.flagged for item in outcomes if item.flagged},
        debris={item.destination: item.debris for item in outcomes},
        incomplete_uploads={item.destination: item.incomplete_uploads for item in outcomes},
        failed_destinations={name: str(error) for name, error in failures.items()},
        stored={
            item.destination: StoredSummary(
                backups=item.stored_backups, size_bytes=item.stored_size_bytes
            )
            for item in outcomes
        },
        files_store={
            item.destination: FilesCollected(
                packs_deleted=len(item.collection.deleted) + len(item.collection.orphans),
                packs_deferred=len(item.collection.deferred),
                freed_bytes=item.collection.freed_bytes,
                running_backups=item.collection.running,
            )
            for item in outcomes
            if item.collection is not None
        },
    )


def _clean_destination(
    context: Context, storage: Storage, target: str, dry_run: bool
) -> DestinationCleanup:
    now = context.clock()
    retention = context.settings.retention
    listing = scan_target(storage, target)
    # A backup whose latest proof failed (it no longer restores) is not "verified", however
    # often it passed before: retention never keeps it as the newest verified one.
    proofs = context.activities.latest_proofs(target, [m.id for m in listing.committed])
    verified = {backup_id for backup_id, (status, _at) in proofs.items() if status == "success"}
    # The storage cap counts the packs of the files store the backups name, each once.
    pack_sizes, named = packs_named(storage, target, (m.id for m in listing.committed))
    entries = [
        BackupEntry(
            manifest.id,
            manifest.created_at,
            listing.sizes.get(manifest.id, 0),
            manifest.id in verified,
            named.get(manifest.id, frozenset()),
        )
        for manifest in listing.committed
    ]
    flagged = flag_skewed(listing.committed, listing.stored_at, now)
    made_last = context.activities.last_backup_made(target)
    plan = plan_retention(
        entries, now, retention, flagged=flagged, made_last=made_last, pack_sizes=pack_sizes
    )
    in_progress = backups_in_progress(context, target)
    debris = [
        backup_id
        for backup_id in plan_debris(
            listing.debris, now, retention.debris_min_age_hours, parse_backup_time
        )
        if backup_id not in in_progress
    ]
    outcome = DestinationCleanup(
        storage.name, list(plan.keep), dict(plan.reasons_to_delete), debris, flagged=flagged
    )
    if dry_run:
        outcome.stored_backups = len(entries)
        outcome.stored_size_bytes = kept_size(entries, pack_sizes)
    else:
        outcome.stored_backups, outcome.stored_size_bytes = len(plan.keep), plan.kept_size_bytes
    if not dry_run:
        _delete_backups(storage, target, plan, debris)
        outcome.incomplete_uploads = storage.sweep_incomplete(
            f"{target}/",
            lambda key: (
                key.split("/")[1] not in in_progress
                and _is_abandoned(key, now, retention.debris_min_age_hours)
            ),
        )
    horizon = Horizon(
        now,
        timedelta(hours=retention.debris_min_age_hours),
        context.stale_after,
        frozenset(in_progress),
        frozenset(plan.delete) | frozenset(debris) if dry_run else frozenset(),
    )
    # After retention: the packs only deleted backups named are collected in the same run.
    outcome.collection = collect_garbage(storage, horizon, dry_run=dry_run)
    return outcome


def backups_in_progress(context: Context, target: str) -> set[str]:
    """Return the ids of ``target``'s backups whose run is alive, so a long backup's parts are
    never taken for debris (the rows of dead runs were failed when this cleanup started)."""
    rows = context.activities.find(job="backup", target=target, statuses=["running"], limit=None)
    return {row.backup_id for row in rows if row.backup_id}


def _delete_backups(storage: Storage, target: str, plan: RetentionPlan, debris: list[str]) -> None:
    for backup_id in plan.delete:
        # The manifest goes first: an interrupted delete leaves debris, never a backup that
        # looks committed but lacks a part.
        storage.delete_objects([manifest_key(target, backup_id)])
        _delete_prefix(storage, backup_prefix(target, backup_id))
    for backup_id in debris:
        _delete_prefix(storage, backup_prefix(target, backup_id))


def _delete_prefix(storage: Storage, prefix: str) -> None:
    storage.delete_objects([item.key for item in storage.list_objects(prefix)])


def _is_abandoned(key: str, now: datetime, min_age_hours: float) -> bool:
    parts = key.split("/")
    moment = parse_backup_time(parts[1]) if len(parts) > 1 else None
    return moment is not None and now - moment >= timedelta(hours=min_age_hours)
