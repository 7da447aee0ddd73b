"""The explicit registry of alert channels, and who is tried when.

Slack is the primary channel; e-mail is the fallback, tried when Slack is not configured, fails
or times out; Apprise URLs are extra channels that get every message. Adding a channel is one
line in ``CHANNEL_FACTORIES`` and its role in ``PRIMARY``, ``FALLBACK`` or ``EXTRA``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from backproof.alerts.base import Channel
from backproof.config.models import AlertSettings

# Each factory imports its channel's module when it is called: httpx, smtplib and Apprise load
# only where a channel of theirs is configured, so every command starts faster.

ChannelFactory = Callable[[AlertSettings, Mapping[str, str]], list[Channel]]


def _slack_channels(settings: AlertSettings, _environ: Mapping[str, str]) -> list[Channel]:
    url = settings.slack.webhook_url
    if url is None:
        return []
    from backproof.alerts.slack import SlackChannel  # noqa: PLC0415

    return [SlackChannel(url.get_secret_value(), settings.slack.timeout_seconds)]


def _email_channels(settings: AlertSettings, environ: Mapping[str, str]) -> list[Channel]:
    if settings.email is None:
        return []
    from backproof.alerts.email import EmailChannel  # noqa: PLC0415

    return [EmailChannel(settings.email, environ)]


def _apprise_channels(settings: AlertSettings, _environ: Mapping[str, str]) -> list[Channel]:
    if not settings.apprise:
        return []
    from backproof.alerts.apprise_channel import AppriseChannel  # noqa: PLC0415

    return [
        AppriseChannel(url.get_secret_value(), index) for index, url in enumerate(settings.apprise)
    ]


CHANNEL_FACTORIES: dict[str, ChannelFactory] = {
    "slack": _slack_channels,
    "email": _email_channels,
    "apprise": _apprise_channels,
}
PRIMARY = ("slack",)
FALLBACK = ("email",)
EXTRA = ("apprise",)


@dataclass(frozen=True)
class ChannelSet:
    """The configured channels, by role."""

    primary: tuple[Channel, ...] = ()
    fallback: tuple[Channel, ...] = ()
    extra: tuple[Channel, ...] = ()

    @property
    def all(self) -> tuple[Channel, ...]:
        """Return every channel, primary first."""
        return self.primary + self.fallback + self.extra

    @property
    def is_empty(self) -> bool:
        """Return True when no channel is configured: alerts are then not even evaluated."""
        return not self.all


def open_channels(settings: AlertSettings, environ: Mapping[str, str] | None = None) -> ChannelSet:
    """Return the channels ``[alerts]`` configures (those that are not no-ops), by role."""
    environ = os.environ if environ is None else environ

    def build(kinds: tuple[str, ...]) -> tuple[Channel, ...]:
        channels = [
            channel for kind in kinds for channel in CHANNEL_FACTORIES[kind](settings, environ)
        ]
        return tuple(channel for channel in channels if not channel.is_noop)

    return ChannelSet(build(PRIMARY), build(FALLBACK), build(EXTRA))
