"""The dead man's switch around ``run``: real pings to a healthchecks-style receiver on loopback."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from alert_receivers import WebhookReceiver
from pydantic import SecretStr

from backproof.after_run import chain_hooks
from backproof.alerts.deadman import DeadManSwitch
from backproof.jobs.context import Context
from backproof.jobs.run import run_chain

PING_PATH = "/ping/5f2c0c4e-6a1e-4c55-9d4f-1b2f3a4b5c6d"


@pytest.fixture
def pinged(context: Context, webhook: WebhookReceiver) -> Context:
    """A context with the faces' chain hooks and a switch pointed at the receiver."""
    context.settings.alerts.healthcheck_url = SecretStr(webhook.url(PING_PATH))
    context.around_chain.extend(chain_hooks())
    return context


def test_run_without_the_faces_hooks_pings_nothing(
    context: Context, webhook: WebhookReceiver
) -> None:
    context.settings.alerts.healthcheck_url = SecretStr(webhook.url(PING_PATH))

    assert run_chain(context).succeeded
    assert webhook.requests == []


def test_successful_run_pings_start_then_success(pinged: Context, webhook: WebhookReceiver) -> None:
    result = run_chain(pinged)

    assert result.succeeded
    assert [request.path for request in webhook.requests] == [f"{PING_PATH}/start", PING_PATH]
    assert b"verify: ok" in webhook.requests[-1].body


def test_run_with_a_failed_backup_pings_fail(pinged: Context, webhook: WebhookReceiver) -> None:
    pinged.settings.targets[0].database = "sqlite:////nonexistent/backproof-deadman/crm.db"

    result = run_chain(pinged)

    assert not result.succeeded
    assert [request.path for request in webhook.requests] == [
        f"{PING_PATH}/start",
        f"{PING_PATH}/fail",
    ]
    body = webhook.requests[-1].body.decode()
    assert "backup: failed: SQLite database /nonexistent/backproof-deadman/crm.db" in body
    assert "verify: skipped (the backup failed)" in body


def test_run_whose_jobs_succeed_pings_success_with_a_warning_verdict_in_the_body(
    pinged: Context, webhook: WebhookReceiver
) -> None:
    pinged.settings.health.min_runs = 1
    pinged.activities.record("backup", "crm", "failed", "an earlier setup mistake")

    result = run_chain(pinged)

    assert result.health is not None
    assert result.health.status == "warning"
    assert [request.path for request in webhook.requests] == [f"{PING_PATH}/start", PING_PATH]
    assert "health verdict: warning" in webhook.requests[-1].body.decode()


def test_unreachable_ping_server_does_not_change_the_run(
    context: Context, webhook: WebhookReceiver
) -> None:
    webhook.hang = True
    context.settings.alerts.healthcheck_url = SecretStr(webhook.url(PING_PATH))
    switch = DeadManSwitch(webhook.url(PING_PATH), timeout_seconds=0.2)

    assert switch.start() == "no answer within 0.2 s"
    webhook.hang = False
    webhook.status = 503
    assert switch.finish(succeeded=True) == "answered HTTP 503"


def test_interrupted_run_pings_fail_and_reraises(pinged: Context, webhook: WebhookReceiver) -> None:
    calls: list[int] = []

    def interrupt_after_backup() -> bool:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return False

    with pytest.raises(KeyboardInterrupt):
        run_chain(pinged, should_stop=interrupt_after_backup)

    assert [request.path for request in webhook.requests] == [
        f"{PING_PATH}/start",
        f"{PING_PATH}/fail",
    ]
    assert b"backup: ok" in webhook.requests[-1].body


def test_cli_run_pings_the_switch_with_the_runs_outcome(
    run_cli: Callable[..., subprocess.CompletedProcess[str]], webhook: WebhookReceiver
) -> None:
    environment = {"BACKPROOF_ALERTS__HEALTHCHECK_URL": webhook.url(PING_PATH)}

    finished = run_cli("run", env=environment)

    assert finished.returncode == 0, finished.stderr
    assert [request.path for request in webhook.requests] == [f"{PING_PATH}/start", PING_PATH]
    assert b"backup: ok" in webhook.requests[-1].body
