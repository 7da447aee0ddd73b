"""EvaluateBackupHealthJob: judge every target's figures and record the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backproof.alerts.dispatch import alert_on_health
from backproof.health import Status, TargetHealth, evaluate_health, worst
from backproof.jobs.context import Context
from backproof.jobs.lifecycle import recorded_run
from backproof.state.records import HealthMeta
from backproof.status import TargetFigures, collect_figures


@dataclass
class HealthResult:
    """The verdict over the targets asked for."""

    status: Status
    targets: list[TargetHealth]
    figures: list[TargetFigures]

    @property
    def is_healthy(self) -> bool:
        """Return True for ``ok`` and ``pending`` (exit 0), False for warning or failing."""
        return self.status in ("ok", "pending")

    def to_json(self) -> dict[str, Any]:
        """Return the document of ``health --json``."""
        return {
            "status": self.status,
            "targets": [
                {
                    "target": health.target,
                    "status": health.status,
                    "checks": [
                        {
                            "name": check.name,
                            "status": check.status,
                            "value": check.value,
                            "threshold": check.threshold,
                            "message": check.message,
                        }
                        for check in health.checks
                    ],
                }
                for health in self.targets
            ],
        }


def assess_health(context: Context, target_name: str | None = None) -> HealthResult:
    """Return the health of one target or all, without recording anything."""
    settings = context.settings
    names = (
        [settings.target(target_name).name] if target_name else [t.name for t in settings.targets]
    )
    now = context.clock()
    figures = [
        collect_figures(context.activities, name, now, settings.health.window_days)
        for name in names
    ]
    verdicts = [evaluate_health(item, settings.health) for item in figures]
    return HealthResult(worst([verdict.status for verdict in verdicts]), verdicts, figures)


def run_health(context: Context, target_name: str | None = None) -> HealthResult:
    """Evaluate health and record it as an activity (status success: the evaluation ran)."""
    with recorded_run(context, HealthMeta(), target_name) as record:
        result = assess_health(context, target_name)
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
        # Alerts (issue 5): fire and resolve from the figures just judged; never raises.
        alert_on_health(context, result.figures, result.targets)
        return result
