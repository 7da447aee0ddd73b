"""The scheduled verify: the newest backup, then the kept backups whose proof is oldest, then
the day's check of the stored parts; and ``verify --all``, every kept backup. Each backup's
verify is its own activity, and so is the check."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from backproof.archive.catalog import scan_target
from backproof.errors import BackproofError
from backproof.jobs.context import Context
from backproof.jobs.scrub import run_scrub
from backproof.jobs.verify import VerifyResult, run_verify
from backproof.reproofs import KeptBackup, plan_reproofs

logger = logging.getLogger(__name__)


@dataclass
class ProofRound:
    """The verifies of several backups of one target: those that passed and those that failed."""

    target: str
    passed: list[VerifyResult] = field(default_factory=list)
    failed: dict[str, BackproofError] = field(default_factory=dict)


def run_scheduled_verify(context: Context, target_name: str | None = None) -> VerifyResult:
    """Verify the newest backup, then prove again the kept backups that are due.

    Returns the newest backup's result; raises its error, after the re-proofs ran, when it
    failed. A re-proof that fails is recorded (a failed verify of that backup) and logged.
    """
    target = context.settings.target(target_name).name
    try:
        return run_verify(context, target)
    finally:
        for backup_id in _due(context, target):
            try:
                run_verify(context, target, backup_id, reproof=True)
            except BackproofError as exc:
                logger.warning("backup %s of %s no longer proves: %s", backup_id, target, exc)
        _scheduled_check(context, target)


def _scheduled_check(context: Context, target: str) -> None:
    """The daily scrub: sizes of every part, the day's share of them read whole (recorded)."""
    percent = context.settings.verify.check_subset_percent
    if percent <= 0:
        return
    try:
        run_scrub(context, target, subset_percent=percent)
    except BackproofError as exc:
        logger.warning("the check of %s found problems: %s", target, exc)


def run_verify_all(
    context: Context, target_name: str | None = None, destination_name: str | None = None
) -> ProofRound:
    """Verify every committed backup of the target (on the primary destination by default),
    oldest first; a failure does not stop the others."""
    target = context.settings.target(target_name).name
    proofs = ProofRound(target)
    storage = context.storage(destination_name)
    for manifest in reversed(scan_target(storage, target).committed):
        try:
            result = run_verify(context, target, manifest.id, storage.name, reproof=True)
            proofs.passed.append(result)
        except BackproofError as exc:
            proofs.failed[manifest.id] = exc
    return proofs


def _due(context: Context, target: str) -> list[str]:
    committed = scan_target(context.storage(), target).committed
    if len(committed) < 2:
        return []
    ids = [manifest.id for manifest in committed]
    proofs = context.activities.latest_proofs(target, ids)
    kept = [
        KeptBackup(manifest.id, manifest.created_at, at, status == "failed")
        for manifest in committed
        for status, at in [proofs.get(manifest.id, ("", None))]
    ]
    newest = committed[0].id  # committed: newest first
    reprove_days = context.settings.verify.reprove_days
    return plan_reproofs(kept, context.clock(), reprove_days, skip=[newest])
