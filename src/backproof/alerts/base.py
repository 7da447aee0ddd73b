"""The interface of an alert channel, the message every channel sends, and its one error.

A channel is one small class named after what it talks to (``slack.py``, ``email.py``,
``apprise_channel.py``), with ``notify(message)`` that delivers or raises DeliveryError and
``is_noop`` that says the channel has nothing configured. The registry (``registry.py``) builds
the configured ones from ``[alerts]``; ``memory.py`` is the twin for unit tests.

Messages are masked when they are made (``make_message``): a channel may trust that nothing in
a message is a secret, and never has to mask again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from backproof.errors import OperationError
from backproof.masking import mask_text

MessageKind = Literal["firing", "resolved", "notice", "test"]
PREFIX = "[OPS] "
# PHP's JSON_PRETTY_PRINT, which the original specification used, indents by four spaces.
JSON_INDENT = 4


class DeliveryError(OperationError):
    """A channel could not deliver a message; the text says why, with no secret in it."""


@dataclass(frozen=True)
class AlertMessage:
    """One message: the event in a line, its context as data; already masked."""

    event: str
    context: Mapping[str, Any] = field(default_factory=dict)
    key: str = "test"
    kind: MessageKind = "test"

    @property
    def headline(self) -> str:
        """Return ``[OPS] <event>``, the first line every channel shows."""
        return PREFIX + self.event

    def context_json(self) -> str:
        """Return the context as pretty JSON with non-ASCII text as is (Czech stays readable)."""
        return json.dumps(self.context, ensure_ascii=False, indent=JSON_INDENT, default=str)


class Channel(Protocol):
    """Where alert messages go."""

    @property
    def name(self) -> str:
        """Return the channel's name as people read it (``slack``, ``email``, ``apprise[0]``)."""
        ...

    @property
    def is_noop(self) -> bool:
        """Return True when nothing is configured, so notify would have nowhere to go."""
        ...

    def notify(self, message: AlertMessage) -> None:
        """Deliver ``message``; raise DeliveryError when the far end did not take it."""
        ...


def make_message(
    event: str,
    context: Mapping[str, Any] | None = None,
    key: str = "test",
    kind: MessageKind = "test",
) -> AlertMessage:
    """Return a message with every text in ``event`` and ``context`` masked.

    Passwords in URLs, tokens, webhook paths and keys become ``***``; e-mail addresses are
    anonymised (``j***@e***.com``).
    """
    return AlertMessage(
        mask_text(" ".join(event.split())), mask_value(dict(context or {})), key, kind
    )


def mask_value(value: Any) -> Any:
    """Return ``value`` with every string in it, at any depth, passed through ``mask_text``."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {mask_text(str(name)): mask_value(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    return value
