"""Sending one message through the channels: Slack, else e-mail, and every extra channel."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from backproof.alerts.base import AlertMessage, Channel, DeliveryError
from backproof.alerts.registry import ChannelSet
from backproof.masking import describe_error

logger = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    """What each channel tried did: None when it delivered, else why it did not."""

    results: dict[str, str | None] = field(default_factory=dict)

    @property
    def delivered(self) -> bool:
        """Return True when at least one channel took the message."""
        return any(error is None for error in self.results.values())

    @property
    def delivered_by(self) -> list[str]:
        """Return the channels that took the message."""
        return [name for name, error in self.results.items() if error is None]

    def summary(self) -> str:
        """Return ``slack: ok; email: <why>`` for a log line or an activity."""
        return "; ".join(
            f"{name}: {'ok' if error is None else error}" for name, error in self.results.items()
        )


def attempt(channel: Channel, message: AlertMessage) -> str | None:
    """Send ``message`` through one channel; return None on success, else why it failed."""
    try:
        channel.notify(message)
    except DeliveryError as exc:
        return describe_error(exc)
    except Exception as exc:  # a broken channel must not stop the others
        return f"internal error: {type(exc).__name__}: {describe_error(exc)}"
    return None


def try_channel(channel: Channel, message: AlertMessage) -> str | None:
    """Like ``attempt``, and log a warning when the channel failed."""
    error = attempt(channel, message)
    if error is not None:
        logger.warning("alert %s not sent through %s: %s", message.key, channel.name, error)
    return error


def deliver(channels: ChannelSet, message: AlertMessage) -> DeliveryReport:
    """Send ``message``: the primary channel, the fallback only when the primary did not take
    it, and every extra channel; return what each did."""
    report = DeliveryReport()
    for channel in channels.primary:
        report.results[channel.name] = try_channel(channel, message)
    if not report.delivered:
        for channel in channels.fallback:
            report.results[channel.name] = try_channel(channel, message)
    for channel in channels.extra:
        report.results[channel.name] = try_channel(channel, message)
    return report
