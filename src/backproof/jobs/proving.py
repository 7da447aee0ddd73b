"""The proofs of a restored copy beyond its facts: the database's own integrity checks and the
application checks of the target. Both run on the scratch database, before it is dropped."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from backproof.application_checks import judge, prepare_sql
from backproof.archive.manifest import Manifest
from backproof.config.models import TargetSettings, VerifySettings
from backproof.errors import SourceError
from backproof.sources.base import DatabaseSource, IntegrityReport
from backproof.state.records import CheckOutcome

BYTES_PER_MB = 1_000_000


@dataclass
class ProofOutcome:
    """What the integrity and application checks of one restored copy found."""

    integrity: IntegrityReport | None = None
    checks: list[CheckOutcome] = field(default_factory=list)

    def failures(self) -> list[str]:
        """Return one line per problem: an object the integrity check faults, a failed check."""
        lines = list(self.integrity.problems) if self.integrity else []
        lines += [
            f"application check {check.name!r} failed: {check.message}"
            for check in self.checks
            if not check.passed
        ]
        return lines


def verify_jobs(settings: VerifySettings) -> int:
    """Return how many jobs a verify runs at once (``[verify] jobs``, default the number of
    cores): pg_restore's workers, and the connections of the integrity checks."""
    return settings.jobs or os.cpu_count() or 1


def prove_restored_copy(
    database: DatabaseSource,
    manifest: Manifest,
    target: TargetSettings,
    settings: VerifySettings,
) -> ProofOutcome:
    """Run the integrity checks (unless the target turned them off) and every application
    check on the restored ``database``; return what they found (failures included)."""
    outcome = ProofOutcome()
    if target.integrity_checks:
        limit = int(settings.heapallindexed_max_mb * BYTES_PER_MB)
        outcome.integrity = database.check_integrity(limit, verify_jobs(settings))
    for check in target.checks:
        sql = prepare_sql(check, manifest.created_at)
        try:
            value = database.query_value(sql, check.timeout_seconds)
        except SourceError as exc:
            outcome.checks.append(CheckOutcome(name=check.name, passed=False, message=str(exc)))
            continue
        problem = judge(check, value)
        shown = None if value is None else str(value)
        outcome.checks.append(
            CheckOutcome(
                name=check.name, passed=problem is None, value=shown, message=problem or ""
            )
        )
    return outcome
