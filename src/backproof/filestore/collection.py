"""Garbage collection of the files store, run by cleanup after retention deleted backups.

A pack is garbage when no committed backup's refs name it. Collecting it safely, whatever other
hosts are doing:

1. Packs of a backup that is running (a marker in ``.filestore/locks/``, not older than
   ``state.stale_after_hours``) or younger than ``retention.debris_min_age_hours`` are kept.
2. *Condemn*: the pack's index is copied to ``.filestore/condemned/<stamp>/…`` and then
   deleted, so no backup starting from now on can take a blob from it.
3. The markers are listed again. While any backup is running, condemned packs are only
   deferred: it may have read the index before step 2. Otherwise each condemned pack is deleted,
   then its condemned index. A condemned pack that a committed backup names again (one that was
   running) gets its index back instead.

Each step leaves a state the next cleanup finishes: an index is never deleted before its copy is
made, and a pack never before its index is gone, so an interrupted collection leaves nothing
that a backup could take and find missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backproof.archive.catalog import manifest_key
from backproof.archive.manifest import ID_TIME_FORMAT, parse_backup_time
from backproof.errors import NotFoundError
from backproof.filestore.layout import (
    CONDEMNED,
    INDEX,
    LOCKS,
    PACKS,
    REFS,
    PackName,
    pack_under,
)
from backproof.storage.base import Storage


@dataclass
class Collection:
    """What a collection did (or, dry, would do) on one destination."""

    destination: str
    condemned: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    orphan_refs: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    packs: int = 0
    pack_bytes: int = 0


@dataclass(frozen=True)
class Horizon:
    """The times that decide what may be collected."""

    now: datetime
    grace: timedelta
    stale_after: timedelta
    in_progress: frozenset[str] = frozenset()
    # Backups retention is about to delete (a dry run has not deleted them): not references.
    dropping: frozenset[str] = frozenset()

    def is_running(self, backup_id: str) -> bool:
        """Return True when the backup's marker is recent enough to be a live run."""
        moment = parse_backup_time(backup_id)
        return backup_id in self.in_progress or (
            moment is not None and self.now - moment < self.stale_after
        )

    def is_young(self, backup_id: str) -> bool:
        """Return True when the backup's objects are inside the grace period (or unparseable)."""
        moment = parse_backup_time(backup_id)
        return moment is None or self.now - moment < self.grace


def collect_garbage(storage: Storage, horizon: Horizon, *, dry_run: bool) -> Collection:
    """Collect the packs no committed backup names on ``storage``; with ``dry_run`` only say."""
    result = Collection(storage.name)
    running = _running(storage, horizon, dry_run)
    referenced = _referenced(storage, horizon, running, result, dry_run)
    sizes = {
        pack: item.size_bytes
        for item in storage.list_objects(PACKS)
        if (pack := pack_under(item.key, PACKS)) is not None
    }
    result.packs, result.pack_bytes = len(sizes), sum(sizes.values())
    indexed = {
        pack
        for item in storage.list_objects(INDEX)
        if (pack := pack_under(item.key, INDEX)) is not None
    }
    condemned = dict(_condemned(storage))
    for pack in sorted(indexed):
        if pack.text in referenced or pack.backup_id in running or horizon.is_young(pack.backup_id):
            continue
        result.condemned.append(pack.text)
        condemned[pack] = "" if dry_run else _condemn(storage, pack, horizon.now)
    if not dry_run:
        # A backup that read the indexes before the condemnation is either still running (its
        # marker is listed now) or committed: its refs are read again after this listing.
        running = _running(storage, horizon, dry_run)
        referenced = _referenced(storage, horizon, running, Collection(storage.name), True)
    result.running = sorted(running)
    _settle(storage, condemned, referenced, bool(running), sizes, result, dry_run)
    for pack in sorted(sizes.keys() - indexed - condemned.keys()):
        if pack.backup_id not in running and not horizon.is_young(pack.backup_id):
            result.orphans.append(pack.pack_key)  # written by a backup killed before its index
            result.freed_bytes += sizes[pack]
            if not dry_run:
                storage.delete_objects([pack.pack_key])
    return result


def _condemn(storage: Storage, pack: PackName, now: datetime) -> str:
    """Move a pack's index aside (copy first, then delete); return the copy's key."""
    key = pack.condemned_key(now.strftime(ID_TIME_FORMAT))
    storage.put_bytes(key, storage.get_bytes(pack.index_key))
    storage.delete_objects([pack.index_key])
    return key


def _settle(
    storage: Storage,
    condemned: dict[PackName, str],
    referenced: set[str],
    is_backup_running: bool,
    sizes: dict[PackName, int],
    result: Collection,
    dry_run: bool,
) -> None:
    """Delete, restore or defer each condemned pack."""
    for pack, key in sorted(condemned.items()):
        if pack.text in referenced:
            result.restored.append(pack.text)
            if not dry_run:
                storage.put_bytes(pack.index_key, storage.get_bytes(key))
                storage.delete_objects([key])
        elif is_backup_running:
            result.deferred.append(pack.text)
        else:
            result.deleted.append(pack.text)
            result.freed_bytes += sizes.get(pack, 0)
            if not dry_run:
                storage.delete_objects([pack.pack_key])
                storage.delete_objects([key])


def _running(storage: Storage, horizon: Horizon, dry_run: bool) -> set[str]:
    """Return the ids of backups running now (their markers); stale markers are removed."""
    running: set[str] = set(horizon.in_progress)
    for item in storage.list_objects(LOCKS):
        backup_id = item.key[len(LOCKS) :]
        if horizon.is_running(backup_id):
            running.add(backup_id)
        elif not dry_run:
            storage.delete_objects([item.key])
    return running


def _referenced(
    storage: Storage, horizon: Horizon, running: set[str], result: Collection, dry_run: bool
) -> set[str]:
    """Return the packs named by committed backups' refs; drop refs of abandoned backups."""
    referenced: set[str] = set()
    for item in list(storage.list_objects(REFS)):
        target, _, backup_id = item.key[len(REFS) :].partition("/")
        if backup_id in horizon.dropping:
            continue
        if _is_committed(storage, target, backup_id):
            try:
                referenced.update(json.loads(storage.get_bytes(item.key)))
            except NotFoundError:
                continue
        elif backup_id not in running and not horizon.is_young(backup_id):
            result.orphan_refs.append(item.key)
            if not dry_run:
                storage.delete_objects([item.key])
        else:
            # A backup still writing (or just failed): what it names is not garbage yet.
            referenced.update(_names(storage, item.key))
    return referenced


def _names(storage: Storage, key: str) -> Iterable[str]:
    try:
        return list(json.loads(storage.get_bytes(key)))
    except NotFoundError:
        return []


def _is_committed(storage: Storage, target: str, backup_id: str) -> bool:
    key = manifest_key(target, backup_id)
    return any(item.key == key for item in storage.list_objects(key))


def _condemned(storage: Storage) -> Iterable[tuple[PackName, str]]:
    for item in storage.list_objects(CONDEMNED):
        parts = item.key[len(CONDEMNED) :].split("/")
        if len(parts) == 3:
            yield PackName(parts[1], parts[2]), item.key


def packs_named(
    storage: Storage, target: str, backup_ids: Iterable[str]
) -> tuple[dict[str, int], dict[str, frozenset[str]]]:
    """Return the size of every pack on ``storage`` and the packs each of ``target``'s
    ``backup_ids`` names (its refs), for the storage cap; nothing is read without packs."""
    sizes = {
        pack.text: item.size_bytes
        for item in storage.list_objects(PACKS)
        if (pack := pack_under(item.key, PACKS)) is not None
    }
    named: dict[str, frozenset[str]] = {}
    if sizes:
        wanted = set(backup_ids)
        for item in storage.list_objects(f"{REFS}{target}/"):
            backup_id = item.key.rpartition("/")[2]
            if backup_id in wanted:
                named[backup_id] = frozenset(_names(storage, item.key))
    return sizes, named
