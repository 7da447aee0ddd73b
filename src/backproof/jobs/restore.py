"""Restore a backup into a database of the same engine, and its files into a folder."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from backproof.archive.encryption import ReadingKeys
from backproof.archive.manifest import Manifest
from backproof.archive.reading import check_backup, find_backup, open_decoded_part
from backproof.archive.staged_folder import staged_folder
from backproof.comparison import compare_files_facts, summarize
from backproof.errors import RestoreError, UsageError
from backproof.jobs.context import Context
from backproof.jobs.files_store import cache_dir, uses_store
from backproof.jobs.keyring import reading_keys
from backproof.jobs.lifecycle import recorded_run
from backproof.jobs.restoring import restore_database_part
from backproof.jobs.table_restore import restore_table_part
from backproof.masking import mask_url
from backproof.sources.files import extract_files
from backproof.sources.registry import engine_of, open_database
from backproof.state.records import RestoreMeta
from backproof.storage.base import Storage
from backproof.units import format_count, format_seconds


@dataclass
class RestoreResult:
    """What was restored where."""

    backup_id: str
    target: str
    database_url: str | None
    files_folder: Path | None
    duration_seconds: float
    table: str | None = None
    table_rows: int | None = None


@dataclass(frozen=True)
class TableChoice:
    """``restore --table``: the one table to restore, and whether it may replace one."""

    name: str
    replace: bool = False


def run_restore(
    context: Context,
    backup_id: str,
    database_url: str | None,
    files_folder: Path | None,
    *,
    force: bool = False,
    target_name: str | None = None,
    destination_name: str | None = None,
    table: TableChoice | None = None,
) -> RestoreResult:
    """Check a backup's integrity, then restore it (or only ``table`` of it).

    Raises UsageError when nothing to restore was asked for, RestoreError when the database is
    not empty (without ``force``) or of another engine, IntegrityError when the backup is corrupt.
    """
    _check_request(database_url, files_folder, force, table)
    storage = context.storage(destination_name)
    manifest = find_backup(storage, context.settings, backup_id, target_name)
    meta = RestoreMeta(
        to=mask_url(database_url) if database_url else None,
        files_to=str(files_folder) if files_folder else None,
        table=table.name if table else None,
    )
    with recorded_run(context, meta, manifest.target) as record:
        record.backup_id = manifest.id
        keys = reading_keys(context)
        record.meta.authentication = check_backup(storage, manifest, keys)
        started = time.monotonic()
        table_rows: tuple[str, int] | None = None
        if database_url is not None and table is not None:
            table_rows = restore_table_part(
                storage, manifest, keys, context.settings, database_url, table.name, table.replace
            )
            record.meta.table, record.meta.table_rows = table_rows
        elif database_url is not None:
            _restore_database(storage, manifest, database_url, force, keys)
        if files_folder is not None:
            _restore_files(
                storage, manifest, files_folder, force, keys, cache_dir(context.settings)
            )
        duration = round(time.monotonic() - started, 3)
        record.meta.duration_seconds = duration
        result = RestoreResult(
            manifest.id,
            manifest.target,
            database_url,
            files_folder,
            duration,
            *(table_rows or (None, None)),
        )
        record.message = describe_restore(result)
        return result


def describe_restore(result: RestoreResult) -> str:
    """Return the line that says what was restored and how long it took."""
    took = format_seconds(result.duration_seconds)
    if result.table is None:
        return f"backup {result.backup_id} restored in {took}"
    rows = format_count(result.table_rows or 0, "row")
    return f"table {result.table} of backup {result.backup_id} restored ({rows}) in {took}"


def _check_request(
    database_url: str | None, files_folder: Path | None, force: bool, table: TableChoice | None
) -> None:
    """Raise UsageError for a request that cannot be run as asked."""
    if database_url is None and files_folder is None:
        raise UsageError("say where to restore: --to URL and/or --files-to DIR")
    if table is None:
        return
    if database_url is None or files_folder is not None:
        raise UsageError("--table restores one table into a database: give --to URL only")
    if force:
        raise UsageError("--table never empties a database: use --replace to replace the table")


def _restore_database(
    storage: Storage, manifest: Manifest, url: str, force: bool, keys: ReadingKeys
) -> None:
    if manifest.part("db") is None or manifest.source is None:
        raise RestoreError(f"backup {manifest.id} has no database part")
    if engine_of(url) != manifest.source.engine:
        raise RestoreError(
            f"backup {manifest.id} is a {manifest.source.engine} dump; "
            f"it cannot be restored into {engine_of(url)} ({mask_url(url)})"
        )
    database = open_database(url)
    if not force and not database.is_empty():
        raise RestoreError(
            f"{mask_url(url)} is not empty: restore into an empty database, "
            "or pass --force to restore over it"
        )
    restore_database_part(storage, manifest, keys, database)


def _restore_files(
    storage: Storage,
    manifest: Manifest,
    folder: Path,
    force: bool,
    keys: ReadingKeys,
    cache: Path | None = None,
) -> None:
    part = manifest.part("files")
    if part is None or manifest.facts.files is None:
        raise RestoreError(f"backup {manifest.id} has no files part")
    if not force and folder.exists() and any(folder.iterdir()):
        raise RestoreError(f"{folder} is not empty: choose an empty folder or pass --force")
    # Written beside the folder and put in place only once every entry passed and the tree
    # matches the backup's facts: a refused restore leaves the folder as it was.
    with staged_folder(folder) as staging:
        if uses_store(manifest):
            # The store's reader loads only for a backup whose files are in it (issue 12).
            from backproof.filestore.proving import restore_store  # noqa: PLC0415

            facts = restore_store(storage, manifest, keys, cache, staging)
        else:
            with open_decoded_part(storage, manifest, part, keys) as stream:
                facts = extract_files(stream, staging)
        differences = compare_files_facts(manifest.facts.files, facts)
        if differences:
            raise RestoreError(f"restored files differ from the backup: {summarize(differences)}")
