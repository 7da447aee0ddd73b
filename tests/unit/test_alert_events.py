"""The alert rules as a pure function of figures, verdict and what was alerted before."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from backproof.alert_events import (
    AlertEvent,
    AlertMemory,
    AlertRules,
    derive_events,
    event_key,
    transition,
)
from backproof.health import Check, TargetHealth
from backproof.state.activities import Activity
from backproof.status import TargetFigures

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
RULES = AlertRules()
OK_HEALTH = TargetHealth("crm", "ok", (Check("rpo", "ok", 1.0, 24.0, "fine"),))


def run(
    job: str, activity_id: int, status: str = "success", hours_ago: float = 1.0, **meta: Any
) -> Activity:
    """Return a finished activity of ``job`` that ended ``hours_ago`` before NOW."""
    finished = NOW - timedelta(hours=hours_ago)
    return Activity(
        activity_id,
        job,
        "crm",
        status,
        finished - timedelta(seconds=5),
        finished,
        5000,
        f"{job} {status}",
        meta,
        host="backup-host",
        backup_id="20261126T050000Z-abc",
    )


def figures(**changes: Any) -> TargetFigures:
    """Return the figures of a healthy target, with ``changes`` applied."""
    good_backup = run("backup", 10, size_bytes=400)
    base = TargetFigures(
        target="crm",
        now=NOW,
        window_days=7,
        backups_total=3,
        backups_succeeded=3,
        verifies_total=3,
        verifies_succeeded=3,
        newest_backup=good_backup,
        previous_backup=None,
        last_backup=good_backup,
        last_verify=run("verify", 11, restore_duration_seconds=2.0),
        last_passed_verify=run("verify", 11, restore_duration_seconds=2.0),
        consecutive_verify_failures=0,
        restore_trend=(),
    )
    return dataclasses.replace(base, **changes)


def events_of(
    target_figures: TargetFigures,
    previous: dict[str, AlertMemory] | None = None,
    rules: AlertRules = RULES,
    health: TargetHealth = OK_HEALTH,
) -> list[AlertEvent]:
    return derive_events(target_figures, health, rules, previous or {})


def failed_backup(activity_id: int = 20) -> TargetFigures:
    return figures(last_backup=run("backup", activity_id, "failed"))


def failed_verifies(streak: int, last_id: int = 30) -> TargetFigures:
    return figures(last_verify=run("verify", last_id, "failed"), consecutive_verify_failures=streak)


def test_transition_fires_a_new_condition() -> None:
    assert transition(None, holds=True, clears=False, occurrence=None) == "firing"


def test_transition_stays_quiet_while_an_active_condition_holds() -> None:
    memory = AlertMemory(active=True, occurrence="5")
    assert transition(memory, holds=True, clears=False, occurrence="5") is None


def test_transition_fires_again_for_a_new_occurrence() -> None:
    memory = AlertMemory(active=True, occurrence="5")
    assert transition(memory, holds=True, clears=False, occurrence="6") == "firing"


def test_transition_resolves_only_an_active_condition() -> None:
    assert transition(AlertMemory(True), holds=False, clears=True, occurrence=None) == "resolved"
    assert transition(AlertMemory(False), holds=False, clears=True, occurrence=None) is None


def test_healthy_target_has_no_events() -> None:
    assert events_of(figures()) == []


def test_failed_backup_fires_with_its_error() -> None:
    (event,) = events_of(failed_backup())

    assert (event.key, event.kind, event.occurrence) == ("backup_failed:crm", "firing", "20")
    assert event.title == "backup of crm failed"
    assert event.context["message"] == "backup failed"
    assert event.context["host"] == "backup-host"


def test_failed_backup_does_not_fire_twice_for_the_same_run() -> None:
    previous = {event_key("backup_failed", "crm"): AlertMemory(True, "20")}
    assert events_of(failed_backup(20), previous) == []


def test_failed_backup_fires_again_for_the_next_failed_run() -> None:
    previous = {event_key("backup_failed", "crm"): AlertMemory(True, "20")}
    (event,) = events_of(failed_backup(21), previous)
    assert (event.kind, event.occurrence) == ("firing", "21")


def test_good_backup_resolves_a_failed_one() -> None:
    previous = {event_key("backup_failed", "crm"): AlertMemory(True, "20")}
    (event,) = events_of(figures(), previous)

    assert event.kind == "resolved"
    assert event.title == "resolved: backup of crm succeeded again"
    assert event.context["size_bytes"] == 400


def test_verify_failing_once_fires_nothing() -> None:
    assert events_of(failed_verifies(1)) == []


def test_verify_failing_twice_in_a_row_fires() -> None:
    (event,) = events_of(failed_verifies(2))

    assert (event.key, event.kind) == ("verify_failed:crm", "firing")
    assert event.title == "verify of crm failed 2 times in a row"
    assert event.context["failures_in_a_row"] == 2
    assert event.context["threshold"] == 2


def test_verify_threshold_follows_the_rules() -> None:
    rules = AlertRules(verify_failures_in_a_row=3)
    assert events_of(failed_verifies(2), rules=rules) == []
    assert [event.kind for event in events_of(failed_verifies(3), rules=rules)] == ["firing"]


def test_verify_failing_a_third_time_fires_again() -> None:
    previous = {event_key("verify_failed", "crm"): AlertMemory(True, "30")}
    (event,) = events_of(failed_verifies(3, last_id=31), previous)
    assert event.title == "verify of crm failed 3 times in a row"


def test_first_passing_verify_resolves() -> None:
    previous = {event_key("verify_failed", "crm"): AlertMemory(True, "31")}
    (event,) = events_of(figures(), previous)

    assert (event.key, event.kind) == ("verify_failed:crm", "resolved")
    assert event.context["restore_duration_seconds"] == 2.0


def test_stale_newest_backup_fires_no_valid_dump() -> None:
    old = run("backup", 10, hours_ago=30)
    (event,) = events_of(figures(newest_backup=old, last_backup=old))

    assert (event.key, event.kind) == ("no_valid_dump:crm", "firing")
    assert event.title == "no valid dump of crm for 30 h (RPO 24 h)"
    assert event.context["age_hours"] == 30.0


def test_no_valid_dump_fires_once_while_it_lasts() -> None:
    old = run("backup", 10, hours_ago=50)
    previous = {event_key("no_valid_dump", "crm"): AlertMemory(True)}
    assert events_of(figures(newest_backup=old, last_backup=old), previous) == []


def test_fresh_backup_resolves_no_valid_dump() -> None:
    previous = {event_key("no_valid_dump", "crm"): AlertMemory(True)}
    (event,) = events_of(figures(), previous)
    assert event.kind == "resolved"
    assert event.title == "resolved: crm has a valid dump again (1 h old)"


def test_target_without_any_backup_fires_no_rpo_alert() -> None:
    assert events_of(figures(newest_backup=None, last_backup=None, last_verify=None)) == []


def test_failing_check_covered_by_another_condition_fires_no_health_alert() -> None:
    health = TargetHealth("crm", "failing", (Check("verify_streak", "failing", 2, 2, "x"),))
    assert events_of(figures(), health=health) == []


def test_other_failing_check_fires_health_failing() -> None:
    check = Check("destinations", "failing", 1, 0, "missing on offsite")
    (event,) = events_of(figures(), health=TargetHealth("crm", "failing", (check,)))

    assert (event.key, event.kind) == ("health_failing:crm", "firing")
    assert event.title == "health of crm is failing: destinations"
    assert event.context["failing_checks"] == {"destinations": "missing on offsite"}


def test_health_no_longer_failing_resolves() -> None:
    previous = {event_key("health_failing", "crm"): AlertMemory(True)}
    health = TargetHealth("crm", "warning", (Check("dump_size", "warning", 60, 50, "x"),))
    (event,) = events_of(figures(), previous, health=health)
    assert event.title == "resolved: health of crm is no longer failing (now warning)"


def test_success_is_announced_only_when_asked() -> None:
    rules = AlertRules(notify_success=True)

    kinds = {(event.key, event.kind) for event in events_of(figures(), rules=rules)}

    assert kinds == {("backup_failed:crm", "notice"), ("verify_failed:crm", "notice")}
    assert events_of(figures()) == []


def test_success_already_announced_is_not_announced_again() -> None:
    rules = AlertRules(notify_success=True)
    previous = {
        event_key("backup_failed", "crm"): AlertMemory(False, "10"),
        event_key("verify_failed", "crm"): AlertMemory(False, "11"),
    }
    assert events_of(figures(), previous, rules=rules) == []


def test_success_that_resolves_is_one_message_not_two() -> None:
    rules = AlertRules(notify_success=True)
    previous = {
        event_key("backup_failed", "crm"): AlertMemory(True, "9"),
        event_key("verify_failed", "crm"): AlertMemory(False, "11"),
    }
    assert [event.kind for event in events_of(figures(), previous, rules=rules)] == ["resolved"]


def unrestorable(*backup_ids: str) -> TargetFigures:
    """Return figures where the kept ``backup_ids`` failed their latest proof."""
    rows = tuple(
        dataclasses.replace(run("verify", 40 + index, "failed"), backup_id=backup_id)
        for index, backup_id in enumerate(backup_ids)
    )
    return figures(failing_backups=rows)


def test_a_kept_backup_that_no_longer_restores_fires_once_naming_it() -> None:
    (event,) = events_of(unrestorable("20261120T010000Z-aa"))

    assert (event.key, event.kind) == ("backup_unrestorable:crm", "firing")
    assert "20261120T010000Z-aa" in event.title
    memory = {event.key: AlertMemory(active=True)}
    assert events_of(unrestorable("20261120T010000Z-aa", "20261121T010000Z-bb"), memory) == []


def test_no_kept_backup_failing_any_more_resolves_unrestorable() -> None:
    memory = {event_key("backup_unrestorable", "crm"): AlertMemory(active=True)}

    (event,) = events_of(figures(), memory)

    assert (event.condition, event.kind) == ("backup_unrestorable", "resolved")
