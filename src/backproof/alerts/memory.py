"""The in-memory twin of a channel, for unit tests of the rules and the dispatch."""

from __future__ import annotations

from dataclasses import dataclass, field

from backproof.alerts.base import AlertMessage, DeliveryError


@dataclass
class MemoryChannel:
    """Keeps every message it is given; fails with ``fail_with`` when that is set."""

    name: str = "memory"
    fail_with: str | None = None
    messages: list[AlertMessage] = field(default_factory=list)
    attempts: int = 0

    @property
    def is_noop(self) -> bool:
        """Return False: a memory channel always has somewhere to put a message."""
        return False

    def notify(self, message: AlertMessage) -> None:
        """Keep ``message``; raise DeliveryError when the channel is set to fail."""
        self.attempts += 1
        if self.fail_with is not None:
            raise DeliveryError(self.fail_with)
        self.messages.append(message)

    @property
    def events(self) -> list[str]:
        """Return the event line of every message kept, oldest first."""
        return [message.event for message in self.messages]
