"""The report job (the spec's GenerateBackupReportJob): gather, render, write atomically.

The report and its trend pictures are documentation, not private data: they are written with
ordinary permissions, and everything in them passes through ``backproof.masking``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from backproof import __version__
from backproof.errors import NotFoundError, OperationError
from backproof.health import evaluate_health
from backproof.jobs.context import Context
from backproof.jobs.lifecycle import recorded_run
from backproof.report.model import ReportData, TargetReport
from backproof.report.render import render_report
from backproof.report.trend import render_trend_svg
from backproof.state.records import ReportMeta
from backproof.status import collect_figures

# Mode of a new report file; an existing report keeps its own mode.
REPORT_FILE_MODE = 0o644


@dataclass
class ReportResult:
    """What the report job wrote."""

    path: Path
    trend_paths: list[Path] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)


def run_report(
    context: Context, target: str | None = None, output: Path | None = None
) -> ReportResult:
    """Write the Markdown report of ``target`` (every target when None) and its trend pictures.

    The report goes to ``output`` or ``report.output``; one SVG per target is written beside it
    as ``<report-stem>-<target>-restore-trend.svg``. Returns the paths written.
    Raises NotFoundError for an unknown target and OperationError when a file cannot be written.
    """
    with recorded_run(context, ReportMeta(), target) as record:
        names = _target_names(context, target)
        path = output or context.settings.report.output
        result = ReportResult(path=path, targets=names)
        now = context.clock()
        reports = []
        for name in names:
            trend_path = path.with_name(trend_file_name(path, name))
            reports.append(_gather_target(context, name, now, trend_path.name))
            result.trend_paths.append(trend_path)
        data = ReportData(now, __version__, tuple(reports))
        # Pictures first: the report never links to a picture that is not there yet.
        for report, trend_path in zip(reports, result.trend_paths, strict=True):
            title = f"Restore duration of {report.name}"
            write_text_atomically(trend_path, render_trend_svg(report.figures.restore_trend, title))
        write_text_atomically(path, render_report(data))
        record.meta = ReportMeta(
            path=str(path),
            targets=names,
            trend_paths=[str(trend_path) for trend_path in result.trend_paths],
        )
        record.message = f"wrote {path} ({len(names)} target{'s' if len(names) != 1 else ''})"
    return result


def trend_file_name(report_path: Path, target: str) -> str:
    """Return the file name of a target's trend picture beside ``report_path``."""
    return f"{report_path.stem}-{target}-restore-trend.svg"


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename.

    Readers see the old file or the new one, never a half-written one. Creates missing folders.
    Raises OperationError when the folder or the file cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777 if path.exists() else REPORT_FILE_MODE
        descriptor, temporary_name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise OperationError(f"cannot write {path}: {exc.strerror or exc}") from exc
    temporary = Path(temporary_name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        temporary.chmod(mode)
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OperationError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _target_names(context: Context, target: str | None) -> list[str]:
    if target is None:
        return [item.name for item in context.settings.targets]
    try:
        return [context.settings.target(target).name]
    except KeyError as exc:
        known = ", ".join(item.name for item in context.settings.targets)
        raise NotFoundError(f"no target called {target!r}; known targets: {known}") from exc


def _gather_target(context: Context, name: str, now: datetime, trend_file: str) -> TargetReport:
    settings = context.settings
    activities = context.activities
    history = settings.report.history
    figures = collect_figures(activities, name, now, settings.health.window_days)
    return TargetReport(
        name=name,
        health=evaluate_health(
            figures, settings.health, allow_unsigned=settings.encryption.allow_unsigned
        ),
        figures=figures,
        backups=tuple(activities.find(job="backup", target=name, limit=history)),
        verifies=tuple(activities.find(job="verify", target=name, limit=history)),
        trend_file=trend_file,
    )
