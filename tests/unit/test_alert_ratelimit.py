"""The rate limit as pure decisions on one key's stored state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backproof.alert_events import AlertEvent
from backproof.alert_ratelimit import (
    AlertRow,
    claim_event,
    claim_pending,
    event_from_json,
    event_to_json,
    is_window_open,
    undo,
)

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
WINDOW_SECONDS = 300.0


def event(kind: str = "firing", occurrence: str | None = "7") -> AlertEvent:
    return AlertEvent(
        "backup_failed:crm",
        "backup_failed",
        "crm",
        kind,  # type: ignore[arg-type]
        f"backup of crm {kind}",
        {"message": "disk full"},
        occurrence,
    )


def sent_row(seconds_ago: float, suppressed: int = 0) -> AlertRow:
    return AlertRow(
        "backup_failed:crm",
        "crm",
        active=True,
        occurrence="6",
        last_sent_at=NOW - timedelta(seconds=seconds_ago),
        suppressed_count=suppressed,
        updated_at=NOW,
        version=4,
    )


def test_window_is_open_without_a_message_sent() -> None:
    assert is_window_open(None, NOW, WINDOW_SECONDS)


def test_window_is_closed_within_the_limit() -> None:
    assert not is_window_open(NOW - timedelta(seconds=299), NOW, WINDOW_SECONDS)


def test_window_opens_after_the_limit() -> None:
    assert is_window_open(NOW - timedelta(seconds=300), NOW, WINDOW_SECONDS)


def test_window_opens_when_the_last_sending_is_far_in_the_future() -> None:
    assert is_window_open(NOW + timedelta(hours=2), NOW, WINDOW_SECONDS)


def test_first_event_of_a_key_is_sent_and_remembered() -> None:
    claim = claim_event(None, event(), NOW, WINDOW_SECONDS)

    assert claim.send
    assert claim.before is None
    assert (claim.after.active, claim.after.occurrence) == (True, "7")
    assert (claim.after.last_sent_at, claim.after.version) == (NOW, 1)


def test_event_inside_the_window_is_suppressed_counted_and_kept() -> None:
    claim = claim_event(sent_row(60, suppressed=2), event(), NOW, WINDOW_SECONDS)

    assert not claim.send
    assert claim.after.suppressed_count == 3
    assert claim.after.pending == event_to_json(event())
    assert claim.after.last_sent_at == NOW - timedelta(seconds=60)
    assert claim.after.occurrence == "7"
    assert claim.after.version == 5


def test_event_after_the_window_is_sent_with_the_suppressed_count() -> None:
    claim = claim_event(sent_row(400, suppressed=99), event(), NOW, WINDOW_SECONDS)

    assert claim.send
    assert claim.suppressed_before == 99
    assert (claim.after.suppressed_count, claim.after.pending) == (0, None)


def test_resolved_event_clears_the_active_flag() -> None:
    claim = claim_event(sent_row(400), event("resolved", "8"), NOW, WINDOW_SECONDS)
    assert (claim.after.active, claim.after.occurrence) == (False, "8")


def test_pending_message_waits_for_the_window() -> None:
    row = claim_event(sent_row(60), event(), NOW, WINDOW_SECONDS).after
    assert claim_pending(row, NOW + timedelta(seconds=100), WINDOW_SECONDS) is None


def test_pending_message_goes_out_after_the_window() -> None:
    row = claim_event(sent_row(60, suppressed=4), event(), NOW, WINDOW_SECONDS).after

    claim = claim_pending(row, NOW + timedelta(seconds=300), WINDOW_SECONDS)

    assert claim is not None and claim.send and claim.delayed
    assert claim.event == event()
    assert claim.suppressed_before == 4  # five held back: this one goes, four are mentioned
    assert (claim.after.pending, claim.after.suppressed_count) == (None, 0)


def test_key_without_pending_message_has_nothing_to_flush() -> None:
    assert claim_pending(sent_row(900), NOW, WINDOW_SECONDS) is None


def test_undo_restores_the_row_with_a_newer_version() -> None:
    before = sent_row(900)
    claim = claim_event(before, event(), NOW, WINDOW_SECONDS)

    restored = undo(claim)

    assert restored is not None
    assert restored.last_sent_at == before.last_sent_at
    assert restored.version == claim.after.version + 1


def test_undo_of_a_first_claim_deletes_the_row() -> None:
    assert undo(claim_event(None, event(), NOW, WINDOW_SECONDS)) is None


def test_event_survives_its_json_round_trip() -> None:
    assert event_from_json(event_to_json(event())) == event()
