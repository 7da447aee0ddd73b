"""The service's metrics beside the spec's: destinations, verified-backup age, last job runs."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from web_history import NOW, add_good_day, add_run, make_settings

from backproof.after_run import after_run_hooks
from backproof.jobs.context import Context, open_context
from backproof.jobs.health import run_health
from backproof.metrics import destination_inventory, render_metrics
from backproof.pushgateway import push_metrics
from hand_clock import HandClock

BACKUP_META = {"size_bytes": 1000, "destinations": ["local", "offsite"]}


def test_destination_inventory_counts_every_backup_when_no_cleanup_ran(
    web_context: Context, clock: HandClock
) -> None:
    for hours in (30, 20, 10):
        add_run(
            web_context, clock, "backup", "success", NOW - timedelta(hours=hours), meta=BACKUP_META
        )
    add_run(web_context, clock, "backup", "failed", NOW - timedelta(hours=5), meta=BACKUP_META)

    inventory = destination_inventory(web_context.activities, "crm")

    assert inventory == {"local": (3, 3000), "offsite": (3, 3000)}


def test_destination_inventory_adds_backups_made_after_the_last_cleanup(
    web_context: Context, clock: HandClock
) -> None:
    add_run(web_context, clock, "backup", "success", NOW - timedelta(hours=30), meta=BACKUP_META)
    stored = {
        "local": {"backups": 7, "size_bytes": 7000},
        "offsite": {"backups": 2, "size_bytes": 2000},
    }
    add_run(
        web_context, clock, "cleanup", "success", NOW - timedelta(hours=29), meta={"stored": stored}
    )
    add_run(web_context, clock, "backup", "success", NOW - timedelta(hours=5), meta=BACKUP_META)

    inventory = destination_inventory(web_context.activities, "crm")

    assert inventory == {"local": (8, 8000), "offsite": (3, 3000)}


def test_destination_inventory_is_empty_when_the_last_cleanup_predates_the_record(
    web_context: Context, clock: HandClock
) -> None:
    add_run(web_context, clock, "cleanup", "success", NOW - timedelta(hours=29), meta={})
    add_run(web_context, clock, "backup", "success", NOW - timedelta(hours=5), meta=BACKUP_META)

    assert destination_inventory(web_context.activities, "crm") == {}


def test_verified_backup_age_is_the_age_of_the_verified_backups_data(
    web_context: Context, clock: HandClock
) -> None:
    add_good_day(web_context, clock, NOW - timedelta(hours=30))
    add_run(web_context, clock, "backup", "success", NOW - timedelta(hours=6), meta=BACKUP_META)

    text = render_metrics(web_context).decode()

    assert 'crm_ops_verified_backup_age_hours{target="crm"} 30.0' in text
    assert 'crm_ops_last_db_dump_age_minutes{target="crm"} 359.5' in text


def test_metrics_leave_out_unknown_figures_rather_than_report_zero(web_context: Context) -> None:
    text = render_metrics(web_context).decode()

    assert 'crm_ops_last_db_dump_age_minutes{target="crm"}' not in text
    assert 'crm_ops_verified_backup_age_hours{target="crm"}' not in text
    assert 'crm_ops_health_status{status="pending",target="crm"} 1.0' in text


def test_job_last_success_is_zero_when_the_last_run_failed(
    web_context: Context, clock: HandClock
) -> None:
    add_good_day(web_context, clock, NOW - timedelta(hours=30))
    add_run(web_context, clock, "backup", "failed", NOW - timedelta(hours=6))

    text = render_metrics(web_context).decode()

    assert 'crm_ops_job_last_success{step="backup",target="crm"} 0.0' in text
    assert 'crm_ops_job_last_success{step="verify",target="crm"} 1.0' in text


def closed_loopback_port() -> int:
    """Return a loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_push_metrics_does_nothing_without_a_pushgateway(web_context: Context) -> None:
    assert push_metrics(web_context) is False


def test_face_registers_the_push_only_with_a_pushgateway(tmp_path: Path) -> None:
    bare = after_run_hooks(make_settings(tmp_path))
    pushing = after_run_hooks(
        make_settings(tmp_path, metrics={"pushgateway": "http://127.0.0.1:9091"})
    )

    assert [hook.__name__ for hook in bare] == ["send_alerts"]
    assert [hook.__name__ for hook in pushing] == ["send_alerts", "push_metrics_after_run"]


def test_a_failed_push_is_logged_and_never_fails_the_job(
    tmp_path: Path, clock: HandClock, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = f"http://user:hunter2@127.0.0.1:{closed_loopback_port()}"
    settings = make_settings(tmp_path, metrics={"pushgateway": gateway})
    context = open_context(settings, clock, after_run_hooks(settings))

    with caplog.at_level(logging.WARNING, logger="backproof.pushgateway"):
        result = run_health(context, "crm")

    assert result.status == "pending"
    assert context.activities.latest("health", "crm", ["success"]) is not None
    assert "pushing metrics to http://user:***@127.0.0.1" in caplog.text
    assert "hunter2" not in caplog.text
    context.activities.engine.dispose()
