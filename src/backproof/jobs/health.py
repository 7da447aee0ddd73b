"""EvaluateBackupHealthJob: judge every target's figures and record the verdict.

The alerts of the verdict are sent by the after-run hook the face registered, not here.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from backproof.assessment import HealthResult, assess_health
from backproof.errors import UsageError
from backproof.jobs.context import Context
from backproof.jobs.lifecycle import recorded_run
from backproof.state.activities import Activity
from backproof.state.records import AckMeta, HealthMeta


def run_health(context: Context, target_name: str | None = None) -> HealthResult:
    """Evaluate health and record it as an activity (status success: the evaluation ran)."""
    with recorded_run(context, HealthMeta(), target_name) as record:
        result = assess_health(context.settings, context.activities, context.clock(), target_name)
        record.meta = HealthMeta.model_validate(result.to_json())
        problems = [
            f"{check.name}: {check.message}"
            for verdict in result.targets
            for check in verdict.checks
            if check.status in ("warning", "failing")
        ]
        record.message = f"health {result.status}" + (
            f": {'; '.join(problems)}" if problems else ""
        )
        return result


@dataclass(frozen=True)
class Acknowledgement:
    """``health ack`` on one target: the recorded row and how many failures it settled."""

    activity: Activity
    failed_runs: int

    def to_json(self) -> dict[str, Any]:
        """Return one object of ``health ack --json``."""
        return {
            "target": self.activity.target,
            "acknowledged_at": self.activity.to_json()["started_at"],
            "failed_runs": self.failed_runs,
            "reason": self.activity.message,
            "activity_id": self.activity.id,
        }


def acknowledge_failures(
    context: Context, target_name: str | None, reason: str
) -> list[Acknowledgement]:
    """Record that the failures of one target or all, up to now, are known and dealt with.

    Success rates and the verify streak count from the acknowledgement on; the rows before it
    stay in the audit trail. Raises UsageError without a reason.
    """
    if not reason.strip():
        raise UsageError("say why with --reason (it is recorded in the audit trail)")
    settings = context.settings
    names = (
        [settings.target(target_name).name] if target_name else [t.name for t in settings.targets]
    )
    since = context.clock() - timedelta(days=settings.health.window_days)
    acknowledgements = []
    for name in names:
        previous = context.activities.latest("ack", name, ["success"])
        counted_from = max(since, previous.started_at) if previous else since
        failed = sum(
            context.activities.count_by_status(job, name, counted_from).get("failed", 0)
            for job in ("backup", "verify")
        )
        meta = AckMeta(reason=reason.strip(), by=_user_name())
        row = context.activities.record("ack", name, "success", reason.strip(), meta.to_json())
        acknowledgements.append(Acknowledgement(row, failed))
    return acknowledgements


def _user_name() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME: the reason is still kept
        return None
