"""RunVerifyRestoreJob: prove the newest backup restores, into a scratch database."""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from backproof.archive.encryption import ReadingKeys
from backproof.archive.manifest import ID_TIME_FORMAT, Facts, Manifest, Part
from backproof.archive.reading import check_backup, choose_backup, open_decoded_part
from backproof.comparison import compare_database_facts, compare_files_facts, summarize
from backproof.config.models import TargetSettings, VerifySettings
from backproof.errors import RestoreError, VerificationError
from backproof.jobs.context import Context
from backproof.jobs.files_store import cache_dir, uses_store
from backproof.jobs.keyring import reading_keys
from backproof.jobs.lifecycle import RunRecord, recorded_run
from backproof.jobs.proof_summary import describe_proof
from backproof.jobs.proving import ProofOutcome, prove_restored_copy, verify_jobs
from backproof.jobs.restoring import restore_database_part
from backproof.jobs.scratch_servers import open_scratch_server
from backproof.sources.base import DatabaseSource, RestoreOptions, ScratchServer, scratch_name
from backproof.sources.files import inspect_archive
from backproof.sources.registry import engine_of
from backproof.state.records import VerifyMeta
from backproof.storage.base import Storage
from backproof.units import format_seconds

logger = logging.getLogger(__name__)


@dataclass
class VerifyResult:
    """A passed verify."""

    backup_id: str
    target: str
    destination: str
    restore_duration_seconds: float
    tables: int
    rows: int
    sampled_rows: int
    files: int = 0
    dropped_leftovers: list[str] = field(default_factory=list)
    digested_tables: int = 0
    proof: ProofOutcome = field(default_factory=ProofOutcome)
    authentication: str = ""
    # Newer-looking backups passed over because their times cannot be believed: id → reason.
    passed_over: dict[str, str] = field(default_factory=dict)
    # What the operator should change (``VerifyMeta.warnings``).
    warnings: list[str] = field(default_factory=list)

    @property
    def depth(self) -> str:
        """How deep the proof went: ``content`` (every table's rows identical, by digest),
        ``counts`` (tables, row counts and sampled rows: a backup without digests) or
        ``files`` (a backup without a database part)."""
        if self.tables and self.digested_tables == self.tables:
            return "content"
        return "counts" if self.tables else "files"


def run_verify(
    context: Context,
    target_name: str | None = None,
    backup_id: str | None = None,
    destination_name: str | None = None,
    *,
    reproof: bool = False,
) -> VerifyResult:
    """Verify a backup (the newest committed on the primary destination by default).

    ``reproof`` marks the activity as a proof of an older backup (rolling re-verification).
    Raises IntegrityError before anything is imported when a part or manifest does not match,
    VerificationError when the restore differs from the facts, NotFoundError without a backup.
    """
    target = context.settings.target(target_name)
    storage = context.storage(destination_name)
    meta = VerifyMeta(destination=storage.name)
    if reproof:
        meta.reproof = True
    with recorded_run(context, meta, target.name) as record:
        choice = choose_backup(storage, target.name, backup_id, context.clock())
        manifest = choice.manifest
        # Health reads this: a backup whose times lie is a warning until it is gone.
        record.meta.clock_skew = choice.flagged
        record.backup_id = manifest.id
        context.activities.set_backup_id(record.activity_id, manifest.id)
        keys = reading_keys(context)
        record.meta.authentication = check_backup(storage, manifest, keys)
        result = VerifyResult(manifest.id, target.name, storage.name, 0.0, 0, 0, 0)
        result.passed_over = choice.flagged
        result.authentication = record.meta.authentication
        if manifest.part("db") is not None:
            _verify_database(context, storage, manifest, result, keys, record)
        if manifest.part("files") is not None:
            _verify_files(context, storage, manifest, result, keys)
        _describe(record, result)
        return result


def _verify_database(
    context: Context,
    storage: Storage,
    manifest: Manifest,
    result: VerifyResult,
    keys: ReadingKeys,
    record: RunRecord[VerifyMeta],
) -> None:
    server = _scratch_server(context, manifest)
    result.dropped_leftovers = server.drop_leftover_scratches()
    stamp = context.clock().strftime(ID_TIME_FORMAT)
    name = scratch_name(manifest.target, stamp, secrets.token_hex(3))
    scratch = server.create_scratch(name)
    passed = False
    try:
        _note_server_warnings(server, record, result)
        part = manifest.part("db")
        assert part is not None  # noqa: S101 - the caller checked
        target = context.settings.target(manifest.target)
        expected = _expected_facts(manifest, target)
        options = restore_options(context, part, expected)
        seconds = restore_database_part(storage, manifest, keys, scratch, options)
        result.restore_duration_seconds = seconds
        actual, proof = _inspect_and_prove(
            scratch, manifest, expected, target, context.settings.verify
        )
        differences = compare_database_facts(expected, actual)
        if differences:
            raise VerificationError(
                f"backup {manifest.id} restores differently: {summarize(differences)}"
            )
        result.proof = proof
        _describe_proof(record.meta, proof)
        if proof.failures():
            raise VerificationError(
                f"backup {manifest.id} restored but fails its checks: {summarize(proof.failures())}"
            )
        passed = True
    finally:
        if passed or not context.settings.verify.keep_failed:
            server.drop_scratch(name)
    result.tables = len(actual.tables)
    result.digested_tables = len(expected.digests)
    result.rows = sum(actual.tables.values())
    result.sampled_rows = sum(len(sample.rows) for sample in actual.samples.values())


def _note_server_warnings(
    server: ScratchServer, record: RunRecord[VerifyMeta], result: VerifyResult
) -> None:
    """Record, once, what the operator should change on the scratch server (its binary log,
    its WAL's standbys and archive)."""
    warnings = server.verify_warnings()
    if not warnings:
        return
    for warning in warnings:
        logger.warning("verify of %s: %s", result.target, warning)
    # Assigned, not appended: the record stores the fields that were set.
    record.meta.warnings = [*record.meta.warnings, *warnings]
    result.warnings += warnings


def _expected_facts(manifest: Manifest, target: TargetSettings) -> Facts:
    """Return the facts the restored copy is held to: the dump's, without its table digests
    when the target turned them off (``content_digests = false``: no second read of every row;
    the proof is then of tables, row counts and sampled rows)."""
    if target.content_digests:
        return manifest.facts
    return manifest.facts.model_copy(update={"digests": {}, "digest_method": ""})


def _inspect_and_prove(
    scratch: DatabaseSource,
    manifest: Manifest,
    expected: Facts,
    target: TargetSettings,
    verify: VerifySettings,
) -> tuple[Facts, ProofOutcome]:
    """Return the facts of the restored copy (with its table digests: a second read of every
    row) and what its integrity and application checks found.

    Both read the restored copy, on connections of their own, at once: the server checks
    indexes while the digests' dump is hashed, so the verify takes the longer, not the sum.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="proof") as pool:
        proving = pool.submit(prove_restored_copy, scratch, manifest, target, verify)
        actual = scratch.inspect(expected)
        return actual, proving.result()


def restore_options(context: Context, part: Part, expected: Facts | None = None) -> RestoreOptions:
    """Return how far a restore of ``part`` may run in parallel (``[verify] jobs``, default
    the number of cores), where its spool goes, and (a verify's, ``expected`` the facts it
    compares) the method of the table digests it will read from the restored copy."""
    verify = context.settings.verify
    jobs = verify_jobs(verify)
    method = expected.digest_method if expected is not None and expected.digests else None
    return RestoreOptions(jobs, verify.spool_dir, part.raw_size_bytes, method)


def _scratch_server(context: Context, manifest: Manifest) -> ScratchServer:
    target = context.settings.target(manifest.target)
    url = context.settings.verify.url or target.database
    engine = manifest.source.engine if manifest.source else "?"
    if url is None or engine_of(url) != engine:
        raise RestoreError(
            f"backup {manifest.id} is a {engine} dump; set verify.url to a {engine} server"
        )
    return open_scratch_server(context.settings, target)


def _verify_files(
    context: Context, storage: Storage, manifest: Manifest, result: VerifyResult, keys: ReadingKeys
) -> None:
    part = manifest.part("files")
    assert part is not None and manifest.facts.files is not None  # noqa: S101
    if uses_store(manifest):
        # The store's reader loads only for a backup whose files are in it (issue 12).
        from backproof.filestore.proving import rolling_window, verify_store  # noqa: PLC0415

        # The chosen files' blobs are read and checked against their addresses and sha256s
        # (every file, or the day's window of verify.files_percent); the whole tree against
        # the facts.
        day = context.clock().toordinal()
        chosen = rolling_window(context.settings.verify.files_percent, day)
        actual, read = verify_store(storage, manifest, keys, cache_dir(context.settings), chosen)
    else:
        with open_decoded_part(storage, manifest, part, keys) as stream:
            actual = inspect_archive(stream)
        read = actual.regular_files
    differences = compare_files_facts(manifest.facts.files, actual)
    if differences:
        raise VerificationError(f"backup {manifest.id} files differ: {summarize(differences)}")
    result.files = read


def _describe(record: RunRecord[VerifyMeta], result: VerifyResult) -> None:
    meta = record.meta
    meta.restore_duration_seconds = result.restore_duration_seconds
    meta.tables, meta.rows, meta.sampled_rows = result.tables, result.rows, result.sampled_rows
    meta.files = result.files
    meta.dropped_leftovers = result.dropped_leftovers
    meta.depth, meta.digested_tables = result.depth, result.digested_tables
    record.message = (
        f"backup {result.backup_id} restored in {format_seconds(result.restore_duration_seconds)}: "
        + ", ".join(describe_proof(result))
        + "".join(f"; warning: {warning}" for warning in result.warnings)
    )


def _describe_proof(meta: VerifyMeta, proof: ProofOutcome) -> None:
    if proof.integrity is not None:
        meta.integrity_checked = proof.integrity.checked
        meta.integrity_what = proof.integrity.what
        meta.integrity_skipped = proof.integrity.skipped or None
    if proof.checks:
        meta.application_checks = proof.checks
