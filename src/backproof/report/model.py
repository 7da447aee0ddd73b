"""What the report shows: the data gathered by the report job, handed to the pure renderer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backproof.health import TargetHealth
from backproof.state.activities import Activity
from backproof.status import TargetFigures


@dataclass(frozen=True)
class TargetReport:
    """One target's part of the report.

    ``backups`` and ``verifies`` are the newest rows of the audit trail for the jobs ``backup``
    and ``verify``, newest first; ``trend_file`` is the trend picture's path relative to the
    report (a file name beside it).
    """

    name: str
    health: TargetHealth
    figures: TargetFigures
    backups: tuple[Activity, ...]
    verifies: tuple[Activity, ...]
    trend_file: str


@dataclass(frozen=True)
class ReportData:
    """Everything one report shows."""

    generated_at: datetime
    version: str
    targets: tuple[TargetReport, ...]
