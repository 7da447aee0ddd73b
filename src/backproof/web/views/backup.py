"""The document behind ``/targets/<name>/backups/<id>``: the manifest, its signature, the facts,
every verify of the backup, and the exact ``backproof restore`` command with its safeguards."""

from __future__ import annotations

import shlex

from pydantic import BaseModel, Field

from backproof.archive.authentication import authenticate_manifest
from backproof.archive.catalog import load_manifest
from backproof.archive.manifest import Manifest, Part
from backproof.clock import isoformat
from backproof.errors import IntegrityError, NotFoundError
from backproof.jobs.context import Context
from backproof.jobs.keyring import trusted_keys
from backproof.web.views.activities import ActivityRow, activity_row
from backproof.web.views.running import TIME

RESTORE_SAFEGUARDS = (
    "checks every part's size and SHA-256 (and the signature, with a verify key) before "
    "anything is imported",
    "refuses a database or folder that is not empty, unless you add --force",
    "refuses a database of another engine than the backup's",
    "records the restore in the audit trail, with who ran it and how it ended",
)


class TableFacts(BaseModel):
    """One table of the dump."""

    name: str
    rows: int
    sampled_rows: int = Field(description="rows whose checksums were recorded")
    digest: str | None = Field(description="digest of all its rows (backups before: none)")


class BackupPage(BaseModel):
    """One backup, as its manifest and the audit trail describe it."""

    target: str
    id: str
    destination: str = Field(description="the destination the manifest was read from")
    created_at: str = Field(description=TIME)
    finished_at: str = Field(description=TIME)
    tool_version: str
    engine: str | None
    server_version: str | None
    parts: list[Part]
    size_bytes: int
    signature: str = Field(description="what the signature check says, in words")
    signature_ok: bool
    tables: list[TableFacts]
    digest_method: str = Field(description="how the table digests were made; empty: none")
    objects: dict[str, int]
    files_entries: int | None
    fact_warnings: list[str]
    verifies: list[ActivityRow] = Field(description="every verify of this backup, newest first")
    restore_command: str
    restore_safeguards: list[str]


def build_backup_page(context: Context, target: str, backup_id: str) -> BackupPage:
    """Return the page of one backup, read from the first destination that holds it.

    Raises NotFoundError when no destination has it, IntegrityError when its manifest is bad.
    """
    manifest, destination = _find_manifest(context, target, backup_id)
    signature, signature_ok = _signature(context, manifest, f"backup {target}/{backup_id}")
    verifies = context.activities.find(job="verify", target=target, backup_id=backup_id, limit=50)
    facts = manifest.facts
    return BackupPage(
        target=target,
        id=manifest.id,
        destination=destination,
        created_at=isoformat(manifest.created_at) or "",
        finished_at=isoformat(manifest.finished_at) or "",
        tool_version=manifest.tool_version,
        engine=manifest.source.engine if manifest.source else None,
        server_version=manifest.source.server_version if manifest.source else None,
        parts=manifest.parts,
        size_bytes=manifest.size_bytes,
        signature=signature,
        signature_ok=signature_ok,
        tables=[
            TableFacts(
                name=name,
                rows=rows,
                sampled_rows=_sampled(manifest, name),
                digest=digest.digest if (digest := facts.digests.get(name)) else None,
            )
            for name, rows in sorted(facts.tables.items())
        ],
        digest_method=facts.digest_method,
        objects=dict(facts.objects),
        files_entries=facts.files.entries if facts.files else None,
        fact_warnings=list(facts.warnings),
        verifies=[activity_row(row) for row in verifies],
        restore_command=restore_command(context, manifest, destination),
        restore_safeguards=list(RESTORE_SAFEGUARDS),
    )


def restore_command(context: Context, manifest: Manifest, destination: str) -> str:
    """Return the ``backproof restore`` command of this backup, with placeholders to fill."""
    words = ["backproof", "restore", manifest.id, "--target", manifest.target]
    if destination != context.settings.destination(None).name:
        words += ["--from", destination]
    command = shlex.join(words)
    if manifest.part("db") is not None:
        command += " --to URL_OF_AN_EMPTY_DATABASE"
    if manifest.part("files") is not None:
        command += " --files-to EMPTY_FOLDER"
    return command


def _find_manifest(context: Context, target: str, backup_id: str) -> tuple[Manifest, str]:
    for name, storage in context.all_storages().items():
        try:
            return load_manifest(storage, target, backup_id), name
        except NotFoundError:
            continue
    raise NotFoundError(f"no destination holds backup {target}/{backup_id}")


def _signature(context: Context, manifest: Manifest, where: str) -> tuple[str, bool]:
    trusted = trusted_keys(context.settings, context.activities.engine)
    try:
        checked = authenticate_manifest(manifest, trusted, where)
    except IntegrityError as exc:
        return str(exc), False
    return checked, manifest.authentication is not None


def _sampled(manifest: Manifest, table: str) -> int:
    samples = manifest.facts.samples.get(table)
    return len(samples.rows) if samples else 0
