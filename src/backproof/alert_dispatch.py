"""The alert decisions after a run: judge, rate-limit, send, record.

``alert_after_job`` is the after-run hook the faces register (``backproof.hooks``):

- after a backup or verify finished, so a failed backup and the second failed verify are told
  at once, whatever ran them;
- after a health evaluation, for every target it judged: this is what notices a dump getting
  too old.

Each evaluates every condition of ``alert_events`` for the target, claims each due message in
``ops_alerts`` (``alert_ratelimit``), then sends the claimed ones through the channels of
``alerts/``: Slack, else e-mail, plus the Apprise channels. Each message sent is recorded as
an activity ``alert`` (``success`` or ``failed``, with what every channel said). A message no
channel took is logged, recorded as failed, and its claim is undone so the next evaluation
tries again.

Nothing here raises: an alert that cannot be evaluated or sent never changes the job's result.
Without any channel configured, nothing is evaluated and nothing is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from backproof.alert_events import AlertRules, derive_events
from backproof.alert_ratelimit import Claim, claim_event, claim_pending, memory_of, undo
from backproof.alerts.base import AlertMessage, make_message
from backproof.alerts.delivery import DeliveryReport, deliver
from backproof.alerts.registry import ChannelSet, open_channels
from backproof.config.models import Settings
from backproof.health import TargetHealth, evaluate_health
from backproof.masking import describe_error
from backproof.state.activities import Activity, ActivityLog
from backproof.state.alerts import AlertStore
from backproof.state.records import AlertMeta, HealthMeta
from backproof.status import FINISHED, TargetFigures, collect_figures

logger = logging.getLogger(__name__)

ALERTING_JOBS = frozenset({"backup", "verify"})


class Context(Protocol):
    """What the decisions read: the settings, the audit trail and the clock (a job context)."""

    @property
    def settings(self) -> Settings:
        """Return the settings."""

    @property
    def activities(self) -> ActivityLog:
        """Return the audit trail (its engine also holds ``ops_alerts``)."""

    @property
    def clock(self) -> Callable[[], datetime]:
        """Return the clock."""


@dataclass(frozen=True)
class SentAlert:
    """A message that went out (or was tried), and what each channel did with it."""

    message: AlertMessage
    report: DeliveryReport


def alert_rules(settings: Settings) -> AlertRules:
    """Return the thresholds of the alert conditions from the settings."""
    return AlertRules(
        verify_failures_in_a_row=settings.alerts.verify_failures_in_a_row,
        rpo_hours=settings.health.rpo_hours,
        notify_success=settings.alerts.notify_success,
    )


def alert_after_job(
    context: Context, activity: Activity, channels: ChannelSet | None = None
) -> list[SentAlert]:
    """Evaluate and send the alerts of the targets a finished run concerns.

    A backup or verify concerns its target, a health evaluation every target it judged; other
    jobs, skipped runs and runs without a target are ignored. Never raises.
    """
    sent: list[SentAlert] = []
    for target in judged_targets(activity):

        def evaluate(chosen: ChannelSet, target: str = target) -> list[SentAlert]:
            figures = collect_figures(
                context.activities, target, context.clock(), context.settings.health.window_days
            )
            verdict = evaluate_health(
                figures,
                context.settings.health,
                allow_unsigned=context.settings.encryption.allow_unsigned,
            )
            return alert_target(context, chosen, figures, verdict)

        sent += _safely(context, target, channels, evaluate)
    return sent


def judged_targets(activity: Activity) -> list[str]:
    """Return the targets whose alerts a finished run may change."""
    if activity.job == "health" and activity.status == "success":
        return [verdict.target for verdict in HealthMeta.read(activity).targets]
    if activity.job in ALERTING_JOBS and activity.status in FINISHED:
        return [] if activity.target is None else [activity.target]
    return []


def alert_target(
    context: Context, channels: ChannelSet, figures: TargetFigures, verdict: TargetHealth
) -> list[SentAlert]:
    """Derive one target's events, claim them against the rate limit, send what was claimed."""
    store = AlertStore(context.activities.engine)
    now = context.clock()
    window_seconds = context.settings.alerts.rate_limit_seconds
    rows = store.rows(figures.target)
    memories = {key: memory_of(row) for key, row in rows.items()}
    events = derive_events(figures, verdict, alert_rules(context.settings), memories)
    claims = [claim_event(rows.get(event.key), event, now, window_seconds) for event in events]
    fresh_keys = {event.key for event in events}
    for key, row in sorted(rows.items()):
        pending = None if key in fresh_keys else claim_pending(row, now, window_seconds)
        if pending is not None:
            claims.append(pending)
    won = [claim for claim in claims if store.save(claim.before, claim.after)]
    return [send_claim(context, channels, store, claim) for claim in won if claim.send]


def compose_message(claim: Claim) -> AlertMessage:
    """Return the message of a claimed event, saying how many were suppressed before it."""
    event = claim.event
    title = event.title
    context: dict[str, Any] = {"key": event.key, "state": event.kind, **event.context}
    if claim.suppressed_before:
        title += f" (+{claim.suppressed_before} suppressed)"
        context["suppressed_since_last_message"] = claim.suppressed_before
    if claim.delayed:
        context["delayed_by_rate_limit"] = True
    return make_message(title, context, event.key, event.kind)


def send_claim(
    context: Context, channels: ChannelSet, store: AlertStore, claim: Claim
) -> SentAlert:
    """Send a claimed message, record it; undo the claim when no channel took it."""
    message = compose_message(claim)
    report = deliver(channels, message)
    meta = AlertMeta(key=message.key, kind=message.kind, channels=report.results)
    if report.delivered:
        text = f"sent through {', '.join(report.delivered_by)}: {message.event}"
        _record(context, claim.event.target, "success", text, meta)
    else:
        logger.error("alert %s reached no channel (%s)", message.key, report.summary())
        store.save(claim.after, undo(claim))
        text = f"not delivered ({report.summary()}): {message.event}"
        _record(context, claim.event.target, "failed", text, meta)
    return SentAlert(message, report)


def _safely(
    context: Context,
    target: str,
    channels: ChannelSet | None,
    evaluate: Callable[[ChannelSet], list[SentAlert]],
) -> list[SentAlert]:
    try:
        chosen = channels if channels is not None else open_channels(context.settings.alerts)
        if chosen.is_empty:
            return []
        return evaluate(chosen)
    except Exception as exc:  # alerts must never change the job's own result
        error = describe_error(exc)
        logger.error(
            "alerts of %s could not be evaluated: %s: %s", target, type(exc).__name__, error
        )
        _record(context, target, "failed", f"alerts could not be evaluated: {error}", AlertMeta())
        return []


def _record(context: Context, target: str, status: str, message: str, meta: AlertMeta) -> None:
    try:
        context.activities.record(meta.job, target, status, message, meta.to_json())
    except Exception as exc:  # the state database may be what is failing
        logger.error("could not record the alert activity: %s", describe_error(exc))
