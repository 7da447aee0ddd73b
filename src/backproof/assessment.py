"""The read-only health assessment of the targets: their figures, judged.

Shared by the ``health`` job (which records the verdict), the metrics, the status document and
the alert rules; it records nothing and sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backproof.config.models import Settings
from backproof.health import Status, TargetHealth, evaluate_health, worst
from backproof.state.activities import ActivityLog
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


def assess_health(
    settings: Settings, log: ActivityLog, now: datetime, target_name: str | None = None
) -> HealthResult:
    """Return the health of one target or all as of ``now``, without recording anything.

    Raises NotFoundError for an unknown target.
    """
    names = (
        [settings.target(target_name).name] if target_name else [t.name for t in settings.targets]
    )
    figures = [collect_figures(log, name, now, settings.health.window_days) for name in names]
    allow = settings.encryption.allow_unsigned
    verdicts = [evaluate_health(item, settings.health, allow_unsigned=allow) for item in figures]
    return HealthResult(worst([verdict.status for verdict in verdicts]), verdicts, figures)
