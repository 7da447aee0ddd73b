"""The Markdown report, rendered from gathered data by a pure function.

The template holds every piece of Markdown; Python turns the data into rows of plain text. Every
value the template prints passes through one ``finalize`` hook that masks secrets (``mask_text``)
and escapes what Markdown would read as markup, so no value can reach the page unmasked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined

from backproof.health import Check, worst
from backproof.masking import mask_text
from backproof.report.model import ReportData, TargetReport
from backproof.state.activities import Activity
from backproof.state.records import BackupMeta, VerifyMeta
from backproof.status import TargetFigures
from backproof.units import (
    MISSING,
    format_duration_ms,
    format_hours,
    format_number,
    format_percent,
    format_seconds,
    format_size_bytes,
    format_time,
)

TEMPLATE_NAME = "report.md.j2"
MESSAGE_CELL_LIMIT = 300
CHECK_UNITS = {
    "rpo": "h",
    "backup_success_rate": "%",
    "verify_success_rate": "%",
    "verified_age": "h",
    "dump_size": "%",
    "restore_duration": "s",
}
# Characters Markdown reads as markup inside a table cell; `_` is left alone because GitHub
# Markdown does not emphasise inside words and escaping it would clutter names like `verify_streak`.
MARKDOWN_SPECIALS = re.compile(r"([\\`*|<>\[\]])")
LINE_BREAKS = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class CheckRow:
    """One health check as the report prints it."""

    name: str
    status: str
    value: str
    threshold: str
    message: str


@dataclass(frozen=True)
class BackupRow:
    """One backup run as the report prints it."""

    backup_id: str
    started_at: str
    size: str
    duration: str
    result: str
    message: str


@dataclass(frozen=True)
class VerifyRow:
    """One verify run as the report prints it."""

    backup_id: str
    started_at: str
    restore_duration: str
    result: str
    message: str


@dataclass(frozen=True)
class TargetView:
    """One target's section, as text."""

    name: str
    status: str
    window_days: int
    backup_rate: str
    verify_rate: str
    rpo: str
    rpo_limit: str
    last_restore: str
    checks: tuple[CheckRow, ...]
    backups: tuple[BackupRow, ...]
    verifies: tuple[VerifyRow, ...]
    trend_link: str
    notes: tuple[str, ...] = ()


def render_report(data: ReportData) -> str:
    """Return the Markdown report of ``data``, with every shown value masked."""
    template = _environment().get_template(TEMPLATE_NAME)
    statuses = [target.health.status for target in data.targets]
    return template.render(
        generated_at=format_time(data.generated_at),
        version=data.version,
        status=worst(statuses) if statuses else "pending",
        targets=[build_target_view(target) for target in data.targets],
    )


def build_target_view(target: TargetReport) -> TargetView:
    """Return the text of one target's section."""
    figures = target.figures
    rpo_check = _find_check(target.health.checks, "rpo")
    return TargetView(
        name=target.name,
        status=target.health.status,
        window_days=figures.window_days,
        backup_rate=_rate_text(
            figures.backup_success_rate,
            figures.backups_succeeded,
            figures.backups_total,
            figures.window_days,
        ),
        verify_rate=_rate_text(
            figures.verify_success_rate,
            figures.verifies_succeeded,
            figures.verifies_total,
            figures.window_days,
        ),
        rpo=_age_text(figures.newest_backup_age_hours, "no valid backup yet"),
        rpo_limit=_with_unit(rpo_check.threshold if rpo_check else None, "h"),
        last_restore=format_seconds(figures.restore_duration_seconds_last),
        checks=tuple(_check_row(check) for check in target.health.checks),
        backups=tuple(_backup_row(activity) for activity in target.backups),
        verifies=tuple(_verify_row(activity) for activity in target.verifies),
        trend_link=quote(target.trend_file),
        notes=_newest_backup_notes(figures),
    )


def _newest_backup_notes(figures: TargetFigures) -> tuple[str, ...]:
    """Return what the newest backup's dump said about itself (warnings, approximations)."""
    if figures.newest_backup is None:
        return ()
    return tuple(BackupMeta.read(figures.newest_backup).notes)


def escape_markdown_cell(text: str) -> str:
    """Return ``text`` safe inside a Markdown table cell: markup escaped, line breaks as <br>."""
    return LINE_BREAKS.sub("<br>", MARKDOWN_SPECIALS.sub(r"\\\1", text))


def finalize_value(value: Any) -> str:
    """Return what the template prints for ``value``: masked, escaped, ``—`` for None."""
    if value is None:
        return MISSING
    return escape_markdown_cell(mask_text(str(value)))


@cache
def _environment() -> Environment:
    # Markdown, not HTML: HTML autoescaping would garble the page; finalize_value escapes for
    # Markdown instead, on every printed value.
    return Environment(
        loader=PackageLoader("backproof.report", "templates"),
        autoescape=False,  # noqa: S701 - the output is Markdown, escaped by finalize_value
        undefined=StrictUndefined,
        finalize=finalize_value,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _find_check(checks: tuple[Check, ...], name: str) -> Check | None:
    return next((check for check in checks if check.name == name), None)


def _rate_text(rate: float | None, succeeded: int, total: int, window_days: int) -> str:
    if rate is None:
        return f"no runs in the last {window_days} d"
    return f"{format_percent(rate)} ({succeeded} of {total} runs)"


def _age_text(hours: float | None, when_missing: str) -> str:
    return when_missing if hours is None else format_hours(hours)


def _with_unit(value: float | None, unit: str) -> str:
    if value is None:
        return MISSING
    if unit == "h":
        return format_hours(value)
    if unit == "s":
        return format_seconds(value)
    return f"{format_number(value)} {unit}".rstrip()


def _check_row(check: Check) -> CheckRow:
    unit = CHECK_UNITS.get(check.name, "")
    return CheckRow(
        check.name,
        check.status,
        _with_unit(check.value, unit),
        _with_unit(check.threshold, unit),
        _message_text(check.message),
    )


def _backup_row(activity: Activity) -> BackupRow:
    return BackupRow(
        backup_id=_backup_id(activity),
        started_at=format_time(activity.started_at),
        size=format_size_bytes(BackupMeta.read(activity).size_bytes),
        duration=format_duration_ms(activity.duration_ms),
        result=activity.status,
        message=_message_text(activity.message),
    )


def _verify_row(activity: Activity) -> VerifyRow:
    return VerifyRow(
        backup_id=_backup_id(activity),
        started_at=format_time(activity.started_at),
        restore_duration=format_seconds(VerifyMeta.read(activity).restore_duration_seconds),
        result=activity.status,
        message=_message_text(activity.message),
    )


def _backup_id(activity: Activity) -> str:
    return activity.backup_id or MISSING


def _message_text(message: str | None) -> str:
    """Mask before clipping, so a clip can never cut a secret short of its pattern."""
    if not message:
        return ""
    masked = mask_text(message)
    if len(masked) <= MESSAGE_CELL_LIMIT:
        return masked
    return masked[: MESSAGE_CELL_LIMIT - 1] + "…"
