"""RunBackupJob: dump the database and archive the files into every destination, manifest last."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backproof import __version__
from backproof.archive.authentication import sign_manifest
from backproof.archive.catalog import backup_prefix, manifest_key, part_key
from backproof.archive.encryption import ENCRYPTION_NAME, make_encryptor, parse_recipients
from backproof.archive.manifest import (
    DATA_PART,
    PART_ORDER,
    Facts,
    Manifest,
    Part,
    SourceInfo,
    new_backup_id,
)
from backproof.archive.parts import PartOutcome, part_file_name, write_part
from backproof.archive.streams import Encryptor, Precompressed, Writer
from backproof.config.models import TargetSettings
from backproof.config.secrets import database_password
from backproof.errors import BackproofError, SourceError, StorageError
from backproof.filestore.entries import DUMP_FORMAT as STORE_FORMAT
from backproof.jobs.context import Context
from backproof.jobs.files_store import open_files_session
from backproof.jobs.hooks import backup_hooks
from backproof.jobs.keyring import signing_key
from backproof.jobs.lifecycle import RunRecord, recorded_run
from backproof.masking import mask_url
from backproof.sources import files as files_source
from backproof.state.records import BackupMeta, HookRecord
from backproof.storage.base import Storage
from backproof.units import format_size_bytes

if TYPE_CHECKING:
    from backproof.filestore.writer import FilesStoreSession
    from backproof.jobs.early_dump import EarlyDump
    from backproof.sources.base import DumpInfo

T = TypeVar("T")


@dataclass
class BackupResult:
    """A committed backup."""

    backup_id: str
    target: str
    size_bytes: int
    parts: list[Part]
    destinations: list[str]
    failed_destinations: dict[str, str] = field(default_factory=dict)
    # Set when this backup generated the signing key pair (the first one without keys in config).
    created_signing_key: Path | None = None

    @property
    def is_partial(self) -> bool:
        """Return True when some destination did not get the backup."""
        return bool(self.failed_destinations)


@dataclass
class _Assembly:
    """A backup being written: the destinations still live, the parts and facts so far."""

    context: Context
    target: TargetSettings
    backup_id: str
    live: dict[str, Storage]
    parts: list[Part] = field(default_factory=list)
    failures: dict[str, BackproofError] = field(default_factory=dict)
    encryptor: Encryptor | None = None
    store: FilesStoreSession | None = None
    # The target's dump, started before this backup was set up (``jobs.early_dump``).
    early: EarlyDump | None = None

    def write(
        self,
        name: str,
        extension: str,
        produce: Callable[[Writer], T],
        *,
        is_threaded: bool = True,
        precompressed: Precompressed | None = None,
    ) -> tuple[T, Part]:
        encrypted = self.encryptor is not None
        file_name = part_file_name(name, extension, self.target.compression, encrypted=encrypted)
        key = part_key(self.target.name, self.backup_id, file_name)
        result, outcome = write_part(
            self.live,
            key,
            produce,
            compression=self.target.compression,
            level=self.target.compression_level,
            encryptor=self.encryptor,
            on_progress=lambda size: self.context.progress(name, size),
            is_threaded=is_threaded,
            precompressed=precompressed,
        )
        self._drop_failed(outcome)
        part = Part(
            name=name,
            file=file_name,
            format="",
            size_bytes=outcome.size_bytes,
            sha256=outcome.sha256,
            compression=self.target.compression,
            encryption=ENCRYPTION_NAME if encrypted else None,
            raw_size_bytes=outcome.raw_size_bytes,
        )
        self.parts.append(part)
        return result, part

    def _drop_failed(self, outcome: PartOutcome) -> None:
        self.drop(outcome.failures)

    def drop(self, failures: dict[str, BackproofError]) -> None:
        """Drop the destinations that failed; raise the last error when none is left."""
        for name, error in failures.items():
            self.failures[name] = error
            dropped = self.live.pop(name, None)
            if dropped is not None:  # its earlier parts of this backup are debris: remove them
                _discard_parts([dropped], self.target.name, self.backup_id)
        if not self.live and failures:
            raise next(iter(failures.values()))


def run_backup(
    context: Context, target_name: str | None = None, early: EarlyDump | None = None
) -> BackupResult:
    """Back up one target; return the committed backup.

    ``early``: the target's dump, already running (``jobs.early_dump``); used when it is this
    target's.

    Raises SourceError, PipelineError or StorageError; nothing is committed then. Raises
    HookError when a before-hook fails (nothing dumped) or an after-hook fails (the backup
    stays committed; the run is failed so that someone looks).
    """
    target = context.settings.target(target_name)
    encryption = context.settings.encryption
    with recorded_run(context, BackupMeta(), target.name) as record:
        # A bad recipient or an unreadable key is a ConfigError: the row is discarded (exit 2).
        encryptor = make_encryptor(parse_recipients(encryption.recipients))
        signer = signing_key(context.settings, context.activities.engine, context.clock())
        backup_id = new_backup_id(context.clock())
        record.backup_id = backup_id
        context.activities.set_backup_id(record.activity_id, backup_id)
        assembly = _Assembly(context, target, backup_id, context.all_storages())
        assembly.encryptor = encryptor
        if early is not None and early.target.name == target.name:
            assembly.early = early
        hooks: list[HookRecord] = []
        record.meta.hooks = hooks  # assigned, so the row stores it even when a hook fails
        with backup_hooks(target.hooks, hooks):
            manifest = _write_and_close(assembly, signer.key)
            result = BackupResult(
                backup_id,
                target.name,
                manifest.size_bytes,
                assembly.parts,
                list(assembly.live),
                {name: str(error) for name, error in assembly.failures.items()},
                signer.created,
            )
            _describe(record, result, manifest, assembly.store)
            # The after-hooks append to this list, now the new record's (even when one fails).
            record.meta.hooks = hooks
        return result


def _write_and_close(assembly: _Assembly, key: Ed25519PrivateKey) -> Manifest:
    completed = False
    try:
        manifest = _write_backup(assembly, key)
        completed = True
    finally:
        # The store's markers stay until the manifest is committed (or the backup failed):
        # a cleanup on any host must not collect packs this backup names meanwhile.
        if assembly.store is not None:
            assembly.store.close(completed=completed)
    return manifest


def _write_backup(assembly: _Assembly, key: Ed25519PrivateKey) -> Manifest:
    """Write the parts, then commit the signed manifest; return it."""
    context, target, backup_id = assembly.context, assembly.target, assembly.backup_id
    created_at = context.clock()
    try:
        facts, source_info = _write_parts(assembly)
    except BaseException:
        _discard_parts(context.all_storages().values(), target.name, backup_id)
        raise
    manifest = Manifest(
        id=backup_id,
        target=target.name,
        created_at=created_at,
        finished_at=context.clock(),
        tool_version=__version__,
        host=socket.gethostname(),
        source=source_info,
        parts=assembly.parts,
        facts=facts,
        destinations=list(assembly.live),
    )
    manifest = sign_manifest(manifest, key)
    _commit_manifest(assembly, manifest)
    return manifest


def _write_parts(assembly: _Assembly) -> tuple[Facts, SourceInfo | None]:
    target = assembly.target
    facts = Facts()
    source_info = None
    if target.database:
        info, part = _dump_database(assembly, target.database)
        for written in assembly.parts:  # the part and its second stream, if it had one
            if written.name in ("db", DATA_PART):
                written.format = info.format
        assembly.parts.sort(key=lambda written: PART_ORDER.index(written.name))
        if part.raw_size_bytes == 0:
            raise SourceError(f"the dump of {mask_url(target.database)} is empty")
        facts, source_info = info.facts, info.source
    if target.files and target.files_format == "store":
        facts = _write_store(assembly, facts)
    elif target.files:
        files_facts, part = assembly.write(
            "files",
            "tar",
            lambda sink: files_source.archive_files(target.files, sink, target.exclude),
        )
        part.format = files_source.DUMP_FORMAT
        facts = facts.model_copy(update={"files": files_facts})
    return facts, source_info


def _dump_database(assembly: _Assembly, url: str) -> tuple[DumpInfo, Part]:
    """Write the database's dump as the part ``db``: the one already running when there is."""
    target, early = assembly.target, assembly.early
    if early is not None:
        extension = early.source().extension
        early.attach_data_part(_DataPart(assembly, extension))
        return assembly.write("db", extension, early.attach, precompressed=early)
    # The engines (SQLite's included) load for a target with a database only: a backup of
    # files alone starts without them (issue 13).
    from backproof.sources.registry import open_database  # noqa: PLC0415

    index = assembly.context.settings.targets.index(target)
    source = open_database(url, database_password(target, index))
    data_part = _DataPart(assembly, source.extension)
    return assembly.write(
        "db",
        source.extension,
        lambda sink: source.dump(sink, target.key_tables, target.sample_rows, data_part),
    )


@dataclass
class _DataPart:
    """The part ``DATA_PART`` of the backup being assembled: the second stream of a dump in
    two, written in the dump's own thread while the part ``db`` is written (``DataPartSink``)."""

    assembly: _Assembly
    extension: str

    def write(
        self, produce: Callable[[Writer], None], precompressed: Precompressed | None = None
    ) -> None:
        # Compressed on the stream's own thread: the part ``db`` already has zstd's workers
        # (one per core), and a second set would add their tens of MB of buffers for nothing.
        self.assembly.write(
            DATA_PART, self.extension, produce, is_threaded=False, precompressed=precompressed
        )


def _write_store(assembly: _Assembly, facts: Facts) -> Facts:
    """Store the files once per destination; the part is the list of every file."""
    target = assembly.target
    settings = assembly.context.settings
    assembly.store = store = open_files_session(settings, target, assembly.backup_id, assembly.live)
    assembly.drop(store.failures)
    # One thread compresses the list: zstd's threads would buffer tens of MB of a long list
    # (memory would grow with the number of files), and the store's own pool is busy.
    files_facts, part = assembly.write(
        "files",
        "list",
        lambda sink: store.write_list(target.files, sink, target.exclude),
        is_threaded=False,
    )
    part.format = STORE_FORMAT
    store.finish(list(assembly.live))
    assembly.drop(store.failures)
    warnings = facts.warnings + store.warnings
    return facts.model_copy(update={"files": files_facts, "warnings": warnings})


def _discard_parts(storages: Iterable[Storage], target: str, backup_id: str) -> None:
    """Delete what a failed backup wrote; what cannot be deleted is cleanup's debris.

    Committed parts are deleted, and so is every upload still in progress under the backup's
    own prefix: an interrupt (SIGTERM is raised as KeyboardInterrupt at any bytecode) can land
    after an upload's ``.partial`` file was created and before any code holds the upload to
    abort it. The backup id belongs to this run alone, so nothing of another run is touched.
    """
    prefix = backup_prefix(target, backup_id)
    for storage in storages:
        with contextlib.suppress(BackproofError):
            storage.delete_objects([item.key for item in storage.list_objects(prefix)])
        with contextlib.suppress(BackproofError):
            storage.sweep_incomplete(prefix, lambda _key: True)


def _commit_manifest(assembly: _Assembly, manifest: Manifest) -> None:
    data = manifest.model_dump_json(indent=2).encode()
    key = manifest_key(manifest.target, manifest.id)
    for name, storage in list(assembly.live.items()):
        try:
            storage.put_bytes(key, data)
        except StorageError as exc:
            assembly.failures[name] = exc
            assembly.live.pop(name)
            # Parts without their manifest are debris: remove them now, not at a later cleanup.
            _discard_parts([storage], manifest.target, manifest.id)
    if not assembly.live:
        raise next(iter(assembly.failures.values()))


def _describe(
    record: RunRecord[BackupMeta],
    result: BackupResult,
    manifest: Manifest,
    store: FilesStoreSession | None,
) -> None:
    record.meta = BackupMeta(
        size_bytes=result.size_bytes,
        db_raw_size_bytes=manifest.database_raw_size_bytes,
        parts={part.name: part.size_bytes for part in result.parts},
        destinations=result.destinations,
        failed_destinations=sorted(result.failed_destinations),
        destination_errors=dict(sorted(result.failed_destinations.items())),
        encrypted=any(part.encryption for part in result.parts),
        signed=manifest.authentication is not None,
        signing_key=manifest.authentication.split(" ")[1] if manifest.authentication else None,
        created_signing_key=str(result.created_signing_key) if result.created_signing_key else None,
        tables=len(manifest.facts.tables),
        rows=sum(manifest.facts.tables.values()),
        notes=list(manifest.facts.warnings),
        table_rows=dict(manifest.facts.tables),
    )
    if store is not None:
        record.meta.files_read = store.files_read
        record.meta.files_unchanged = store.files_unchanged
        record.meta.files_stored_bytes = store.stored_bytes
    record.message = f"backup {result.backup_id}: {format_size_bytes(result.size_bytes)}"
    if result.is_partial:
        failed = "; ".join(f"{name}: {error}" for name, error in result.failed_destinations.items())
        record.message += f" (partial: not on {failed})"
