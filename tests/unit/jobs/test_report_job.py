"""The report job against a real SQLite state database: what it writes and what it records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backproof.config.loading import resolve_paths
from backproof.config.models import Settings
from backproof.errors import NotFoundError, OperationError
from backproof.jobs.context import Context, open_context
from backproof.jobs.report import run_report
from hand_clock import HandClock

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
SLACK_URL = "https://hooks.slack.com/services/T0001/B0001/abcdefSECRET"


def make_settings(tmp_path: Path, target_names: tuple[str, ...] = ("crm",)) -> Settings:
    """Return settings with the state in ``tmp_path`` and the report under ``docs``."""
    raw: dict[str, Any] = {
        "state": {"url": f"sqlite:///{tmp_path}/state.db", "lock_dir": "locks"},
        "targets": [{"name": name, "database": "sqlite:///app.db"} for name in target_names],
        "destinations": [{"name": "memory", "url": "memory://report-tests"}],
        "report": {"output": "docs/16-generated/backup-report.md"},
    }
    return resolve_paths(Settings.model_validate(raw), tmp_path)


@pytest.fixture
def clock() -> HandClock:
    return HandClock(NOW)


@pytest.fixture
def context(tmp_path: Path, clock: HandClock) -> Iterator[Context]:
    context = open_context(make_settings(tmp_path, ("crm", "shop")), clock)
    yield context
    context.activities.engine.dispose()


def add_run(
    context: Context,
    clock: HandClock,
    job: str,
    status: str,
    started_at: datetime,
    *,
    message: str,
    meta: dict[str, Any],
    backup_id: str | None = None,
    target: str = "crm",
    seconds: float = 90.0,
) -> None:
    """Insert a finished run through the audit trail, as a job would."""
    clock.now = started_at
    activity_id = context.activities.start(job, target)
    clock.now = started_at + timedelta(seconds=seconds)
    context.activities.finish(activity_id, status, message, meta, backup_id)
    clock.now = NOW


def add_week_of_history(context: Context, clock: HandClock) -> None:
    """Six daily backups (one failed) and verifies of the last three days."""
    for day in range(6, 0, -1):
        started_at = NOW - timedelta(days=day)
        backup_id = started_at.strftime("%Y%m%dT%H%M%SZ") + "-ab12"
        if day == 4:
            message = (
                f"pg_dump failed: postgresql://backup:hunter2@db/crm; alert {SLACK_URL} "
                "password=hunter2 notified jan.novak@example.com"
            )
            add_run(context, clock, "backup", "failed", started_at, message=message, meta={})
            continue
        add_run(
            context,
            clock,
            "backup",
            "success",
            started_at,
            message=f"backup {backup_id}: 3145728 bytes",
            meta={"size_bytes": 3_145_728},
            backup_id=backup_id,
        )
        if day <= 3:
            add_run(
                context,
                clock,
                "verify",
                "success",
                started_at + timedelta(hours=1),
                message=f"backup {backup_id} restored",
                backup_id=backup_id,
                meta={"restore_duration_seconds": 10.0 + day},
            )


def test_run_report_shows_success_rates_of_the_window(context: Context, clock: HandClock) -> None:
    add_week_of_history(context, clock)
    text = run_report(context, "crm").path.read_text(encoding="utf-8")
    assert "Backup success rate (7 d): 83.3 % (5 of 6 runs)" in text
    assert "Verify success rate (7 d): 100.0 % (3 of 3 runs)" in text
    assert "RPO (age of the newest valid backup): 23 h 58 min (limit 24 h)" in text


def test_run_report_lists_backups_and_verifications_in_tables(
    context: Context, clock: HandClock
) -> None:
    add_week_of_history(context, clock)
    text = run_report(context, "crm").path.read_text(encoding="utf-8")
    assert (
        "| 20261125T060000Z-ab12 | 2026-11-25 06:00:00 UTC | 3.1 MB | 1 min 30 s | success |"
        in text
    )
    assert "| 20261125T060000Z-ab12 | 2026-11-25 07:00:00 UTC | 11.0 s | success |" in text
    assert text.count("| success |") == 5 + 3


def test_run_report_masks_passwords_webhooks_and_emails(context: Context, clock: HandClock) -> None:
    add_week_of_history(context, clock)
    text = run_report(context, "crm").path.read_text(encoding="utf-8")
    assert "hunter2" not in text
    assert "abcdefSECRET" not in text
    assert "jan.novak" not in text
    assert r"j\*\*\*@e\*\*\*.com" in text
    assert r"hooks.slack.com/services/\*\*\*" in text


def test_run_report_writes_a_trend_picture_with_a_line_beside_the_report(
    context: Context, clock: HandClock
) -> None:
    add_week_of_history(context, clock)
    result = run_report(context, "crm")
    expected = result.path.with_name("backup-report-crm-restore-trend.svg")
    assert result.trend_paths == [expected]
    assert "<polyline" in expected.read_text(encoding="utf-8")
    text = result.path.read_text(encoding="utf-8")
    assert "![Restore duration trend](backup-report-crm-restore-trend.svg)" in text


def test_run_report_writes_a_picture_that_says_why_when_no_restore_was_measured(
    context: Context,
) -> None:
    result = run_report(context, "crm")
    svg = result.trend_paths[0].read_text(encoding="utf-8")
    assert "<polyline" not in svg
    assert "No restore measured yet" in svg


def test_run_report_covers_every_target_when_none_is_named(context: Context) -> None:
    result = run_report(context)
    assert result.targets == ["crm", "shop"]
    assert [path.name for path in result.trend_paths] == [
        "backup-report-crm-restore-trend.svg",
        "backup-report-shop-restore-trend.svg",
    ]
    text = result.path.read_text(encoding="utf-8")
    assert "## Target crm" in text
    assert "## Target shop" in text


def test_run_report_writes_to_the_given_output_instead_of_the_configured_one(
    context: Context, tmp_path: Path
) -> None:
    output = tmp_path / "elsewhere" / "weekly.md"
    result = run_report(context, "crm", output)
    assert result.path == output
    assert output.is_file()
    assert (tmp_path / "elsewhere" / "weekly-crm-restore-trend.svg").is_file()
    assert not context.settings.report.output.exists()


def test_run_report_records_a_successful_audit_row_with_path_and_targets(context: Context) -> None:
    result = run_report(context)
    (activity,) = context.activities.find(job="report")
    assert activity.status == "success"
    assert activity.meta["path"] == str(result.path)
    assert activity.meta["targets"] == ["crm", "shop"]
    assert activity.message == f"wrote {result.path} (2 targets)"


def test_run_report_replaces_the_previous_report_without_leaving_temporary_files(
    context: Context, clock: HandClock
) -> None:
    first = run_report(context, "crm")
    add_week_of_history(context, clock)
    second = run_report(context, "crm")
    assert "83.3 %" in second.path.read_text(encoding="utf-8")
    assert sorted(path.name for path in first.path.parent.iterdir()) == [
        "backup-report-crm-restore-trend.svg",
        "backup-report.md",
    ]


def test_run_report_writes_files_readable_by_others_when_new(context: Context) -> None:
    result = run_report(context, "crm")
    assert result.path.stat().st_mode & 0o777 == 0o644


def test_run_report_fails_with_not_found_for_an_unknown_target(context: Context) -> None:
    with pytest.raises(NotFoundError, match="no target called 'nope'"):
        run_report(context, "nope")
    (activity,) = context.activities.find(job="report")
    assert activity.status == "failed"


def test_run_report_fails_with_operation_error_when_the_folder_cannot_be_made(
    context: Context, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(OperationError, match="cannot write"):
        run_report(context, "crm", blocker / "report.md")
    (activity,) = context.activities.find(job="report")
    assert activity.status == "failed"
