"""Alerts from the real jobs on the demo CRM, to a real webhook and SMTP server on loopback.

The clock moves an hour between jobs, as daily runs would, so the rate limit does not hold
back the messages these tests wait for (the storm test covers the rate limit).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from alert_receivers import MailHandler, WebhookReceiver
from pydantic import SecretStr

from backproof.after_run import after_run_hooks
from backproof.clock import utc_now
from backproof.config.models import EmailSettings, Settings
from backproof.errors import NotFoundError, SourceError
from backproof.jobs.backup import run_backup
from backproof.jobs.context import Context, open_context
from backproof.jobs.health import run_health
from backproof.jobs.verify import run_verify
from backproof.state.activities import Activity
from hand_clock import HandClock

MISSING_DATABASE = "sqlite:////nonexistent/backproof-alert-tests/crm.db"


@pytest.fixture
def clock() -> HandClock:
    # Two days back, so that an hour moved per job never dates a backup after the moment the
    # destination really wrote it (verify passes over such backups as clock skew).
    return HandClock(utc_now() - timedelta(days=2))


@pytest.fixture
def alerting(settings: Settings, webhook: WebhookReceiver, clock: HandClock) -> Iterator[Context]:
    """A job context on the demo whose Slack webhook is the loopback receiver."""
    settings.alerts.slack.webhook_url = SecretStr(webhook.url())
    context = open_context(settings, clock, after_run_hooks(settings))
    yield context
    context.activities.engine.dispose()


def headlines(webhook: WebhookReceiver) -> list[str]:
    return [text.split(" ```", 1)[0] for text in webhook.texts()]


def alert_rows(context: Context) -> list[Activity]:
    return context.activities.find(job="alert")


def test_first_failed_verify_sends_nothing(alerting: Context, webhook: WebhookReceiver) -> None:
    with pytest.raises(NotFoundError):
        run_verify(alerting)
    assert webhook.requests == []


def test_second_failed_verify_alerts_and_first_good_verify_resolves(
    alerting: Context, webhook: WebhookReceiver, clock: HandClock
) -> None:
    for _ in range(2):
        with pytest.raises(NotFoundError):
            run_verify(alerting)
        clock.advance(hours=1)
    assert headlines(webhook) == ["[OPS] verify of crm failed 2 times in a row"]

    run_backup(alerting)
    clock.advance(hours=1)
    result = run_verify(alerting)

    assert headlines(webhook)[-1] == "[OPS] resolved: verify of crm passed again"
    context_json = json.loads(webhook.texts()[-1].split("```")[1])
    assert context_json["state"] == "resolved"
    assert context_json["restore_duration_seconds"] == result.restore_duration_seconds


def test_failed_backup_alerts_with_its_error(alerting: Context, webhook: WebhookReceiver) -> None:
    alerting.settings.targets[0].database = MISSING_DATABASE

    with pytest.raises(SourceError):
        run_backup(alerting)

    assert headlines(webhook) == ["[OPS] backup of crm failed"]
    context_json = json.loads(webhook.texts()[0].split("```")[1])
    assert "does not exist" in context_json["message"]
    (row,) = alert_rows(alerting)
    assert (row.status, row.message) == ("success", "sent through slack: backup of crm failed")


def test_failing_slack_falls_back_to_email(
    alerting: Context, webhook: WebhookReceiver, plain_smtp: int, mailbox: MailHandler
) -> None:
    webhook.status = 500
    alerting.settings.alerts.email = EmailSettings.model_validate(
        {"host": "127.0.0.1", "port": plain_smtp, "security": "plain",
         "from": "backproof@example.com", "to": ["oncall@example.com"]}
    )  # fmt: skip
    alerting.settings.targets[0].database = MISSING_DATABASE

    with pytest.raises(SourceError):
        run_backup(alerting)

    assert len(webhook.requests) == 1
    (envelope,) = mailbox.envelopes
    assert b"Subject: [OPS] backup of crm failed" in envelope.original_content  # type: ignore[operator]


def test_job_keeps_its_own_error_when_no_channel_works(
    alerting: Context, webhook: WebhookReceiver
) -> None:
    webhook.status = 500
    alerting.settings.targets[0].database = MISSING_DATABASE

    with pytest.raises(SourceError, match="does not exist"):
        run_backup(alerting)

    (row,) = alert_rows(alerting)
    assert row.status == "failed"
    assert row.message is not None
    assert row.message.startswith("not delivered (slack: the webhook answered HTTP 500")
    backups = alerting.activities.find(job="backup")
    assert [backup.status for backup in backups] == ["failed"]


def test_stale_dump_alerts_on_health_and_resolves_on_the_next_backup(
    alerting: Context, webhook: WebhookReceiver, clock: HandClock
) -> None:
    run_backup(alerting)
    clock.advance(hours=25)

    result = run_health(alerting)

    assert result.status == "failing"
    assert headlines(webhook) == ["[OPS] no valid dump of crm for 25 h (RPO 24 h)"]
    clock.advance(hours=1)
    run_backup(alerting)
    assert headlines(webhook)[-1] == "[OPS] resolved: crm has a valid dump again (0 ms old)"


def test_database_password_never_reaches_the_message(
    alerting: Context, webhook: WebhookReceiver
) -> None:
    alerting.settings.targets[0].database = "postgresql://backup:hunter2@127.0.0.1:9/crm"

    with pytest.raises(SourceError):
        run_backup(alerting)

    assert webhook.requests
    assert all(b"hunter2" not in request.body for request in webhook.requests)
