"""``backproof alert test`` as a user runs it, against real receivers on loopback."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

from alert_receivers import MailHandler, WebhookReceiver

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


def email_environment(port: int) -> dict[str, str]:
    return {
        "BACKPROOF_ALERTS__EMAIL__HOST": "127.0.0.1",
        "BACKPROOF_ALERTS__EMAIL__PORT": str(port),
        "BACKPROOF_ALERTS__EMAIL__SECURITY": "plain",
        "BACKPROOF_ALERTS__EMAIL__FROM": "backproof@example.com",
        "BACKPROOF_ALERTS__EMAIL__TO": '["oncall@example.com"]',
    }


def test_alert_test_reports_each_channel_that_worked(
    run_cli: CliRunner, webhook: WebhookReceiver, plain_smtp: int, mailbox: MailHandler
) -> None:
    environment = {"ALERT_SLACK_WEBHOOK": webhook.url()} | email_environment(plain_smtp)

    finished = run_cli("alert", "test", env=environment)

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines() == ["slack: ok", "email: ok"]
    assert webhook.texts()[0].startswith("[OPS] test message from backproof")
    assert len(mailbox.envelopes) == 1


def test_alert_test_says_which_channel_failed(
    run_cli: CliRunner, webhook: WebhookReceiver, plain_smtp: int
) -> None:
    webhook.status = 500
    environment = {"ALERT_SLACK_WEBHOOK": webhook.url()} | email_environment(plain_smtp)

    finished = run_cli("alert", "test", "--json", env=environment)

    assert finished.returncode == 1
    document = json.loads(finished.stdout)
    assert document["worked"] is False
    assert [(item["channel"], item["worked"]) for item in document["channels"]] == [
        ("slack", False),
        ("email", True),
    ]
    assert "HTTP 500" in document["channels"][0]["error"]


def test_alert_test_logs_to_the_healthcheck_without_changing_it(
    run_cli: CliRunner, webhook: WebhookReceiver
) -> None:
    environment = {"BACKPROOF_ALERTS__HEALTHCHECK_URL": webhook.url("/ping/abc")}

    finished = run_cli("alert", "test", env=environment)

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "healthcheck: ok"
    assert [request.path for request in webhook.requests] == ["/ping/abc/log"]


def test_alert_test_without_any_channel_is_a_configuration_error(run_cli: CliRunner) -> None:
    finished = run_cli("alert", "test")

    assert finished.returncode == 2
    assert finished.stderr.startswith("backproof: error: at alerts: no channel is configured")


def test_alert_test_is_recorded_in_the_audit_trail(
    run_cli: CliRunner, webhook: WebhookReceiver
) -> None:
    run_cli("alert", "test", env={"ALERT_SLACK_WEBHOOK": webhook.url()})

    finished = run_cli("activities", "--job", "alert", "--json")

    (row,) = json.loads(finished.stdout)["activities"]
    assert (row["status"], row["message"]) == ("success", "test message: slack: ok")
