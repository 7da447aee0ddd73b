"""Which alerts fire and which resolve: a pure function of a target's figures, its health verdict
and what was alerted before.

Conditions, each with its event key ``<condition>:<target>``:

- ``backup_failed``: the last backup failed. Every new failed backup fires (rate limits keep a
  storm to one message); the next successful backup resolves it.
- ``verify_failed``: the last ``verify_failures_in_a_row`` verifies (2 by default) failed. It
  fires on that failure and on each further one; the first passing verify resolves it.
- ``no_valid_dump``: the newest valid backup is older than the RPO (``health.rpo_hours``). It
  fires once when it becomes true and resolves when a fresh backup exists.
- ``backup_unrestorable``: a kept backup's latest proof failed (a re-proof found it no longer
  restores: bit rot, a lost part or key). Fires once when the first such backup appears and
  resolves when none is left (each proved again or deleted by retention).
- ``health_failing``: health has a failing check that the conditions above do not already cover
  (they cover ``rpo`` and ``verify_streak``), so one problem is one message, at the threshold
  the user chose. Fires once, resolves when no such check fails.

With ``notify_success``, a new successful backup or passing verify that resolves nothing is
announced as a ``notice`` under the key of its job's failure condition.

"What was alerted before" is, per key, whether the alert is active and the occurrence (the id of
the activity) it last saw, so the same failed run never fires twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from backproof.clock import isoformat
from backproof.health import TargetHealth
from backproof.state.activities import Activity
from backproof.state.records import BackupMeta, VerifyMeta
from backproof.status import TargetFigures
from backproof.units import format_hours

EventKind = Literal["firing", "resolved", "notice"]
COVERED_CHECKS = frozenset({"rpo", "verify_streak"})


@dataclass(frozen=True)
class AlertMemory:
    """What was alerted before under one key."""

    active: bool = False
    occurrence: str | None = None


@dataclass(frozen=True)
class AlertRules:
    """The thresholds of the conditions."""

    verify_failures_in_a_row: int = 2
    rpo_hours: float = 24.0
    notify_success: bool = False


@dataclass(frozen=True)
class AlertEvent:
    """One message due: a condition fired, resolved, or a success to announce."""

    key: str
    condition: str
    target: str
    kind: EventKind
    title: str
    context: dict[str, Any] = field(default_factory=dict)
    occurrence: str | None = None


def event_key(condition: str, target: str) -> str:
    """Return the key alerts of ``condition`` on ``target`` are remembered and rate-limited by."""
    return f"{condition}:{target}"


def derive_events(
    figures: TargetFigures,
    health: TargetHealth,
    rules: AlertRules,
    previous: Mapping[str, AlertMemory],
) -> list[AlertEvent]:
    """Return the events due for one target, given what was alerted before under each key."""
    candidates = (
        _backup_event(figures, rules, previous),
        _verify_event(figures, rules, previous),
        _rpo_event(figures, rules, previous),
        _unrestorable_event(figures, previous),
        _health_event(health, previous),
    )
    return [event for event in candidates if event is not None]


def transition(
    memory: AlertMemory | None, *, holds: bool, clears: bool, occurrence: str | None
) -> EventKind | None:
    """Return ``firing`` when the condition holds and is new (or a new occurrence of it),
    ``resolved`` when it clears while active, else None."""
    memory = memory or AlertMemory()
    if holds and (not memory.active or (occurrence and occurrence != memory.occurrence)):
        return "firing"
    if clears and memory.active:
        return "resolved"
    return None


def _backup_event(
    figures: TargetFigures, rules: AlertRules, previous: Mapping[str, AlertMemory]
) -> AlertEvent | None:
    last, target = figures.last_backup, figures.target
    if last is None:
        return None
    key = event_key("backup_failed", target)
    failed, occurrence = last.status == "failed", str(last.id)
    kind = transition(previous.get(key), holds=failed, clears=not failed, occurrence=occurrence)
    kind = kind or _notice(previous.get(key), rules, succeeded=not failed, occurrence=occurrence)
    if kind is None:
        return None
    titles = {
        "firing": f"backup of {target} failed",
        "resolved": f"resolved: backup of {target} succeeded again",
        "notice": f"backup of {target} succeeded",
    }
    context = {"target": target, **_run_context(last)}
    if not failed:
        context["size_bytes"] = BackupMeta.read(last).size_bytes
    return AlertEvent(key, "backup_failed", target, kind, titles[kind], context, occurrence)


def _verify_event(
    figures: TargetFigures, rules: AlertRules, previous: Mapping[str, AlertMemory]
) -> AlertEvent | None:
    last, target = figures.last_verify, figures.target
    if last is None:
        return None
    key = event_key("verify_failed", target)
    streak, occurrence = figures.consecutive_verify_failures, str(last.id)
    passed = last.status == "success"
    holds = streak >= rules.verify_failures_in_a_row
    kind = transition(previous.get(key), holds=holds, clears=passed, occurrence=occurrence)
    kind = kind or _notice(previous.get(key), rules, succeeded=passed, occurrence=occurrence)
    if kind is None:
        return None
    titles = {
        "firing": f"verify of {target} failed {streak} times in a row",
        "resolved": f"resolved: verify of {target} passed again",
        "notice": f"verify of {target} passed",
    }
    context: dict[str, Any] = {"target": target, **_run_context(last)}
    if kind == "firing":
        context["failures_in_a_row"] = streak
        context["threshold"] = rules.verify_failures_in_a_row
    else:
        context["restore_duration_seconds"] = VerifyMeta.read(last).restore_duration_seconds
    return AlertEvent(key, "verify_failed", target, kind, titles[kind], context, occurrence)


def _rpo_event(
    figures: TargetFigures, rules: AlertRules, previous: Mapping[str, AlertMemory]
) -> AlertEvent | None:
    age, target = figures.newest_backup_age_hours, figures.target
    key = event_key("no_valid_dump", target)
    holds = age is not None and age >= rules.rpo_hours
    kind = transition(previous.get(key), holds=holds, clears=not holds, occurrence=None)
    if kind is None:
        return None
    newest = figures.newest_backup
    context: dict[str, Any] = {
        "target": target,
        "newest_backup_id": newest.backup_id if newest else None,
        "newest_backup_at": isoformat(newest.finished_at or newest.started_at) if newest else None,
        "age_hours": None if age is None else round(age, 1),
        "rpo_hours": rules.rpo_hours,
    }
    if kind == "firing" and figures.last_backup is not None:
        context["last_backup"] = _run_context(figures.last_backup)
    age_text = "unknown" if age is None else format_hours(age)
    titles = {
        "firing": f"no valid dump of {target} for {age_text} (RPO {format_hours(rules.rpo_hours)})",
        "resolved": f"resolved: {target} has a valid dump again ({age_text} old)",
    }
    return AlertEvent(key, "no_valid_dump", target, kind, titles[kind], context)


def _unrestorable_event(
    figures: TargetFigures, previous: Mapping[str, AlertMemory]
) -> AlertEvent | None:
    failing, target = figures.failing_backups, figures.target
    key = event_key("backup_unrestorable", target)
    kind = transition(previous.get(key), holds=bool(failing), clears=not failing, occurrence=None)
    if kind is None:
        return None
    context: dict[str, Any] = {
        "target": target,
        "backups": {str(row.backup_id): _run_context(row) for row in failing},
    }
    titles = {
        "firing": f"kept backups of {target} that no longer restore: "
        + ", ".join(str(row.backup_id) for row in failing[:5]),
        "resolved": f"resolved: every kept backup of {target} proves again",
    }
    return AlertEvent(key, "backup_unrestorable", target, kind, titles[kind], context)


def _health_event(health: TargetHealth, previous: Mapping[str, AlertMemory]) -> AlertEvent | None:
    target = health.target
    key = event_key("health_failing", target)
    failing = [
        check
        for check in health.checks
        if check.status == "failing" and check.name not in COVERED_CHECKS
    ]
    kind = transition(previous.get(key), holds=bool(failing), clears=not failing, occurrence=None)
    if kind is None:
        return None
    context: dict[str, Any] = {"target": target, "status": health.status}
    if failing:
        context["failing_checks"] = {check.name: check.message for check in failing}
        title = f"health of {target} is failing: {', '.join(check.name for check in failing)}"
    else:
        title = f"resolved: health of {target} is no longer failing (now {health.status})"
    return AlertEvent(key, "health_failing", target, kind, title, context)


def _notice(
    memory: AlertMemory | None, rules: AlertRules, *, succeeded: bool, occurrence: str
) -> EventKind | None:
    if not rules.notify_success or not succeeded:
        return None
    if memory is not None and memory.occurrence == occurrence:
        return None
    return "notice"


def _run_context(activity: Activity) -> dict[str, Any]:
    """Return what people need about one run: when, which backup, where, and its message."""
    return {
        "status": activity.status,
        "at": isoformat(activity.finished_at or activity.started_at),
        "backup_id": activity.backup_id,
        "activity_id": activity.id,
        "host": activity.host,
        "message": activity.message,
    }
