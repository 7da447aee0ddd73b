"""The rate limit of alerts, as pure decisions on the stored state of one event key.

At most one message per key per window (``alerts.rate_limit_seconds``, 5 minutes by default).
A message due inside the window is suppressed: counted, and kept as the key's ``pending``
message. The next message that goes out for the key says how many were suppressed; and when no
new event comes, the pending one goes out at the first evaluation after the window, so the last
word on a key (often ``resolved``) is never lost.

Every decision returns the row as it was (``before``) and as it must become (``after``, with
``version`` one higher); the store writes ``after`` only if the row is still ``before``, so two
processes deciding at once cannot both send.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from backproof.alert_events import AlertEvent, AlertMemory
from backproof.state.alerts import AlertRow


def memory_of(row: AlertRow) -> AlertMemory:
    """Return what the event rules need to know of a key's stored row."""
    return AlertMemory(row.active, row.occurrence)


@dataclass(frozen=True)
class Claim:
    """A decision on one key: the row before and after, and whether a message goes out."""

    before: AlertRow | None
    after: AlertRow
    event: AlertEvent
    send: bool
    suppressed_before: int = 0
    delayed: bool = False


def is_window_open(last_sent_at: datetime | None, now: datetime, window_seconds: float) -> bool:
    """Return True when a message may go out: none was sent, or the last is a window old.

    A last sending far in the future (a clock that jumped, another host's skew) also opens it.
    """
    if last_sent_at is None:
        return True
    elapsed_seconds = (now - last_sent_at).total_seconds()
    return elapsed_seconds >= window_seconds or elapsed_seconds < -window_seconds


def claim_event(
    row: AlertRow | None, event: AlertEvent, now: datetime, window_seconds: float
) -> Claim:
    """Return the decision for a new event: its key's new state, sent or suppressed."""
    current = row or AlertRow(event.key, event.target)
    active = {"firing": True, "resolved": False}.get(event.kind, current.active)
    changed = replace(
        current,
        active=active,
        occurrence=event.occurrence or current.occurrence,
        updated_at=now,
        version=current.version + 1,
    )
    if is_window_open(current.last_sent_at, now, window_seconds):
        after = replace(changed, last_sent_at=now, suppressed_count=0, pending=None)
        return Claim(row, after, event, send=True, suppressed_before=current.suppressed_count)
    after = replace(
        changed, suppressed_count=current.suppressed_count + 1, pending=event_to_json(event)
    )
    return Claim(row, after, event, send=False)


def claim_pending(row: AlertRow, now: datetime, window_seconds: float) -> Claim | None:
    """Return the decision to send a key's pending message, once its window is over."""
    if row.pending is None or not is_window_open(row.last_sent_at, now, window_seconds):
        return None
    after = replace(
        row,
        last_sent_at=now,
        suppressed_count=0,
        pending=None,
        updated_at=now,
        version=row.version + 1,
    )
    event = event_from_json(row.pending)
    # The pending message itself was one of the suppressed; the others are mentioned.
    others = max(0, row.suppressed_count - 1)
    return Claim(row, after, event, send=True, suppressed_before=others, delayed=True)


def undo(claim: Claim) -> AlertRow | None:
    """Return the row that puts a key back as it was before ``claim`` (None: no row at all).

    Used when a message could not be delivered anywhere, so the next evaluation tries again.
    """
    if claim.before is None:
        return None
    return replace(claim.before, version=claim.after.version + 1)


def event_to_json(event: AlertEvent) -> dict[str, Any]:
    """Return an event as JSON data, to be kept as a pending message."""
    return {
        "key": event.key,
        "condition": event.condition,
        "target": event.target,
        "kind": event.kind,
        "title": event.title,
        "context": event.context,
        "occurrence": event.occurrence,
    }


def event_from_json(data: dict[str, Any]) -> AlertEvent:
    """Return the event kept by ``event_to_json``."""
    return AlertEvent(
        key=str(data["key"]),
        condition=str(data["condition"]),
        target=str(data["target"]),
        kind=data["kind"],
        title=str(data["title"]),
        context=dict(data.get("context") or {}),
        occurrence=data.get("occurrence"),
    )
