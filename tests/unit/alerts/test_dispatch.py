"""The dispatch against a real SQLite state database, with twins of Slack and e-mail."""

from __future__ import annotations

import sqlalchemy as sa
from alert_twins import Twins, finished

from backproof.alert_dispatch import alert_after_job
from backproof.alerts.base import AlertMessage
from backproof.alerts.memory import MemoryChannel
from backproof.alerts.registry import ChannelSet
from backproof.jobs.context import Context
from backproof.jobs.health import run_health
from backproof.state.activities import Activity
from backproof.state.alerts import AlertStore
from hand_clock import HandClock


def alert_activities(context: Context) -> list[tuple[str, str | None]]:
    return [(row.status, row.message) for row in context.activities.find(job="alert")]


def test_failed_backup_goes_to_slack_only(context: Context, twins: Twins) -> None:
    sent = alert_after_job(context, finished(context, "backup", "failed"), twins.channels)

    assert twins.slack.events == ["backup of crm failed"]
    assert twins.email.messages == []
    assert [item.report.results for item in sent] == [{"slack": None}]


def test_sent_alert_is_recorded_as_an_activity(context: Context, twins: Twins) -> None:
    alert_after_job(context, finished(context, "backup", "failed"), twins.channels)

    (row,) = context.activities.find(job="alert")
    assert (row.status, row.target) == ("success", "crm")
    assert row.message == "sent through slack: backup of crm failed"
    assert row.meta["key"] == "backup_failed:crm"


def test_failing_slack_falls_back_to_email(context: Context, twins: Twins) -> None:
    twins.slack.fail_with = "no answer within 3 s"

    (sent,) = alert_after_job(context, finished(context, "backup", "failed"), twins.channels)

    assert twins.email.events == ["backup of crm failed"]
    assert sent.report.results == {"slack": "no answer within 3 s", "email": None}


def test_email_is_used_when_slack_is_not_configured(context: Context) -> None:
    email = MemoryChannel("email")
    alert_after_job(context, finished(context, "backup", "failed"), ChannelSet(fallback=(email,)))
    assert email.events == ["backup of crm failed"]


def test_broken_channel_does_not_stop_the_fallback(context: Context, twins: Twins) -> None:
    class BrokenChannel(MemoryChannel):
        def notify(self, message: AlertMessage) -> None:
            raise RuntimeError("bug in a channel")

    channels = ChannelSet(primary=(BrokenChannel("slack"),), fallback=(twins.email,))
    (sent,) = alert_after_job(context, finished(context, "backup", "failed"), channels)

    assert sent.report.results["slack"] == "internal error: RuntimeError: bug in a channel"
    assert twins.email.events == ["backup of crm failed"]


def test_undelivered_alert_is_recorded_as_failed_and_retried(
    context: Context, twins: Twins
) -> None:
    twins.slack.fail_with = "HTTP 500"
    twins.email.fail_with = "connection refused"
    activity = finished(context, "backup", "failed")

    alert_after_job(context, activity, twins.channels)

    (status, message) = alert_activities(context)[0]
    assert status == "failed"
    assert message == (
        "not delivered (slack: HTTP 500; email: connection refused): backup of crm failed"
    )
    twins.slack.fail_with = twins.email.fail_with = None
    alert_after_job(context, activity, twins.channels)
    assert twins.slack.events == ["backup of crm failed"]


def test_storm_of_failures_sends_one_message(
    context: Context, twins: Twins, clock: HandClock
) -> None:
    for _ in range(100):
        clock.advance(0.5)
        alert_after_job(context, finished(context, "backup", "failed"), twins.channels)

    assert twins.slack.events == ["backup of crm failed"]


def test_next_message_after_a_storm_counts_the_suppressed(
    context: Context, twins: Twins, clock: HandClock
) -> None:
    for _ in range(100):
        clock.advance(0.5)
        alert_after_job(context, finished(context, "backup", "failed"), twins.channels)
    clock.advance(300)

    alert_after_job(context, finished(context, "backup", "failed"), twins.channels)

    assert twins.slack.events[-1] == "backup of crm failed (+99 suppressed)"
    assert twins.slack.messages[-1].context["suppressed_since_last_message"] == 99


def test_suppressed_resolution_goes_out_after_the_window(
    context: Context, twins: Twins, clock: HandClock
) -> None:
    alert_after_job(context, finished(context, "backup", "failed"), twins.channels)
    clock.advance(60)
    alert_after_job(context, finished(context, "backup", "success"), twins.channels)
    assert twins.slack.events == ["backup of crm failed"]
    clock.advance(300)

    alert_after_job(context, health_row(context), twins.channels)

    assert twins.slack.events[-1] == "resolved: backup of crm succeeded again"
    assert twins.slack.messages[-1].context["delayed_by_rate_limit"] is True


def test_second_failed_verify_fires_and_a_good_one_resolves(
    context: Context, twins: Twins, clock: HandClock
) -> None:
    alert_after_job(context, finished(context, "verify", "failed"), twins.channels)
    assert twins.slack.events == []
    clock.advance(3600)
    alert_after_job(context, finished(context, "verify", "failed"), twins.channels)
    assert twins.slack.events == ["verify of crm failed 2 times in a row"]
    clock.advance(3600)

    alert_after_job(context, finished(context, "verify", "success"), twins.channels)

    assert twins.slack.events[-1] == "resolved: verify of crm passed again"


def test_health_evaluation_alerts_from_its_figures(context: Context, twins: Twins) -> None:
    finished(context, "backup", "failed")

    sent = alert_after_job(context, health_row(context), twins.channels)

    assert [item.message.event for item in sent] == ["backup of crm failed"]


def test_other_jobs_do_not_alert(context: Context, twins: Twins) -> None:
    assert alert_after_job(context, finished(context, "cleanup", "failed"), twins.channels) == []
    assert twins.slack.attempts == 0


def test_skipped_backup_does_not_alert(context: Context, twins: Twins) -> None:
    finished(context, "backup", "failed")

    assert alert_after_job(context, finished(context, "backup", "skipped"), twins.channels) == []
    assert twins.slack.attempts == 0


def test_nothing_is_stored_without_a_channel(context: Context) -> None:
    assert alert_after_job(context, finished(context, "backup", "failed"), ChannelSet()) == []
    assert AlertStore(context.activities.engine).rows("crm") == {}


def test_alerts_that_cannot_be_evaluated_are_recorded_not_raised(
    context: Context, twins: Twins
) -> None:
    with context.activities.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE ops_alerts"))

    assert alert_after_job(context, finished(context, "backup", "failed"), twins.channels) == []

    (status, message) = alert_activities(context)[0]
    assert status == "failed"
    assert message is not None and message.startswith("alerts could not be evaluated: ")


def health_row(context: Context) -> Activity:
    """Run the health job (a bare context has no hooks) and return its row."""
    run_health(context, "crm")
    return context.activities.find(job="health", limit=1)[0]
