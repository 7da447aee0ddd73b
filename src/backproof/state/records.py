"""What each job records in its audit row's ``meta``: one typed record per job.

A job writes its record (``BackupMeta``, ``VerifyMeta``, …) and every reader (status, health,
metrics, the report, alerts, the status document) reads the same record back with
``BackupMeta.read(activity)``: a key is spelled once, here. The stored JSON is what the first
release wrote: only the fields a job set are stored (``model_dump(exclude_unset=True)``), and a
row written before a field existed reads with that field's default. Keys this version does not
know (written by a newer one) are kept on read and written back unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field


class HasMeta(Protocol):
    """A row with its stored ``meta`` (``state.activities.Activity``)."""

    @property
    def meta(self) -> Mapping[str, Any]:
        """Return the stored JSON object."""


class ActivityMeta(BaseModel):
    """The ``meta`` of one activity row; subclasses name their job in ``job``."""

    # Unknown keys survive a read and a write: an older version never drops a newer one's facts.
    # Each record is built where it is first used: a run reads or writes two or three of them.
    model_config = ConfigDict(extra="allow", defer_build=True)

    job: ClassVar[str]

    # Set by the audit trail itself, on any job's row, when a run ended without finishing it.
    stale: bool | None = None
    interrupted: bool | None = None

    @classmethod
    def read(cls, activity: HasMeta) -> Self:
        """Return the record stored in ``activity`` (defaults for what an old row lacks)."""
        return cls.model_validate(activity.meta)

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object stored in the row: the fields that were set."""
        return self.model_dump(mode="json", exclude_unset=True)


class HookRecord(BaseModel):
    """One hook command run around a backup: how it ended and the tail of what it printed."""

    phase: str
    command: str
    status: str
    duration_seconds: float
    output: str = ""


class BackupMeta(ActivityMeta):
    """A backup: sizes, where it went, what the dump held."""

    job: ClassVar[str] = "backup"

    size_bytes: int | None = None
    db_raw_size_bytes: int | None = None
    parts: dict[str, int] = Field(default_factory=dict)
    destinations: list[str] = Field(default_factory=list)
    failed_destinations: list[str] = Field(default_factory=list)
    destination_errors: dict[str, str] = Field(default_factory=dict)
    encrypted: bool = False
    signed: bool = False
    # The fingerprint of the signing key (issue 9), and the key file when this backup made it.
    signing_key: str | None = None
    created_signing_key: str | None = None
    tables: int | None = None
    rows: int | None = None
    # What the dump said about itself (non-transactional tables, approximations): the report
    # shows them.
    notes: list[str] = Field(default_factory=list)
    # Per table, so health can name a table emptied since the backup before.
    table_rows: dict[str, int] | None = None
    # The files store: files read, files skipped as unchanged, bytes of new packs written.
    files_read: int | None = None
    hooks: list[HookRecord] = Field(default_factory=list)
    files_unchanged: int | None = None
    files_stored_bytes: int | None = None


class CheckOutcome(BaseModel):
    """What one application check (``[[targets.checks]]``) found on a restored copy."""

    name: str
    passed: bool
    value: str | None = None
    message: str = ""


class VerifyMeta(ActivityMeta):
    """A verify: which destination, the signature, what the restore proved."""

    job: ClassVar[str] = "verify"

    destination: str | None = None
    authentication: str | None = None
    restore_duration_seconds: float | None = None
    tables: int | None = None
    rows: int | None = None
    sampled_rows: int | None = None
    files: int | None = None
    dropped_leftovers: list[str] = Field(default_factory=list)
    depth: str | None = Field(
        None, description="content (every table's digest), counts (older backups) or files"
    )
    digested_tables: int | None = None
    integrity_checked: int | None = None
    integrity_what: str | None = None
    integrity_skipped: str | None = None
    application_checks: list[CheckOutcome] = Field(default_factory=list)
    reproof: bool | None = None
    # Newer-looking backups passed over because their times cannot be believed (issue 9):
    # id → reason. Health warns while the last verify names any.
    clock_skew: dict[str, str] = Field(default_factory=dict)
    # What the verify did that the operator should change (its scratch database written into
    # the verify server's binary log, or its WAL replayed by standbys and archived): said in
    # the message too.
    warnings: list[str] = Field(default_factory=list)


class StoredSummary(BaseModel):
    """What one destination holds after a cleanup."""

    backups: int
    size_bytes: int


class FilesCollected(BaseModel):
    """What garbage collection of the files store did on one destination."""

    packs_deleted: int = 0
    packs_deferred: int = 0
    freed_bytes: int = 0
    running_backups: list[str] = Field(default_factory=list)


class CleanupMeta(ActivityMeta):
    """A cleanup: what was deleted and what each destination holds afterwards."""

    job: ClassVar[str] = "cleanup"

    dry_run: bool = False
    deleted: dict[str, list[str]] = Field(default_factory=dict)
    debris: dict[str, list[str]] = Field(default_factory=dict)
    incomplete_uploads: dict[str, list[str]] = Field(default_factory=dict)
    failed_destinations: dict[str, str] = Field(default_factory=dict)
    # None on rows written before cleanups counted what they left (metrics then say nothing).
    stored: dict[str, StoredSummary] | None = None
    files_store: dict[str, FilesCollected] = Field(default_factory=dict)
    # Per destination, the backups kept because their times cannot be believed (issue 9).
    clock_skew: dict[str, dict[str, str]] = Field(default_factory=dict)


class RestoreMeta(ActivityMeta):
    """A restore: where to (one table of the backup, with its rows, for ``--table``), the
    signature, how long it took."""

    job: ClassVar[str] = "restore"

    to: str | None = None
    files_to: str | None = None
    table: str | None = None
    table_rows: int | None = None
    authentication: str | None = None
    duration_seconds: float | None = None


class ReportMeta(ActivityMeta):
    """A report: the files written."""

    job: ClassVar[str] = "report"

    path: str | None = None
    targets: list[str] = Field(default_factory=list)
    trend_paths: list[str] = Field(default_factory=list)


class CheckRecord(BaseModel):
    """One health check as stored."""

    name: str
    status: str
    value: Any = None
    threshold: Any = None
    message: str = ""


class TargetVerdictRecord(BaseModel):
    """One target's health as stored."""

    target: str
    status: str
    checks: list[CheckRecord] = Field(default_factory=list)


class HealthMeta(ActivityMeta):
    """A health evaluation: the verdict of ``health --json``."""

    job: ClassVar[str] = "health"

    status: str | None = None
    targets: list[TargetVerdictRecord] = Field(default_factory=list)


class AckMeta(ActivityMeta):
    """``health ack``: failures up to this row are acknowledged; rates count from it."""

    job: ClassVar[str] = "ack"

    reason: str | None = None
    by: str | None = None


class AlertMeta(ActivityMeta):
    """An alert sent (or a test message): what each channel said (None: it took the message)."""

    job: ClassVar[str] = "alert"

    key: str | None = None
    kind: str | None = None
    test: bool | None = None
    channels: dict[str, str | None] = Field(default_factory=dict)


class ScrubMeta(ActivityMeta):
    """A check (scrub): the parts looked at, read and found wrong, per destination."""

    job: ClassVar[str] = "check"

    read_data: bool = False
    subset_percent: float | None = None
    backups: int | None = None
    parts_checked: int | None = None
    parts_read: int | None = None
    bytes_read: int | None = None
    files_checked: int | None = None
    files_read: int | None = None
    findings: list[str] = Field(default_factory=list)


def recorded_job_names() -> list[str]:
    """Return the name of every job that writes audit rows (what ``activities --job`` takes)."""
    return sorted({cls.job for cls in _all_subclasses(ActivityMeta)})


def _all_subclasses(base: type[ActivityMeta]) -> list[type[ActivityMeta]]:
    found: list[type[ActivityMeta]] = []
    for subclass in base.__subclasses__():
        found += [subclass, *_all_subclasses(subclass)]
    return found
