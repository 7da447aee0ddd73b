"""The registry builds the configured channels, by role, and nothing else."""

from __future__ import annotations

from pathlib import Path

from alert_twins import make_settings

from backproof.alerts.base import Channel
from backproof.alerts.registry import CHANNEL_FACTORIES, EXTRA, FALLBACK, PRIMARY, open_channels

EMAIL = {"host": "smtp.test", "from": "ops@example.com", "to": ["oncall@example.com"]}


def names(channels: tuple[Channel, ...]) -> list[str]:
    return [channel.name for channel in channels]


def test_nothing_configured_gives_no_channel(tmp_path: Path) -> None:
    assert open_channels(make_settings(tmp_path).alerts).is_empty


def test_slack_is_primary_and_email_the_fallback(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, slack={"webhook_url": "https://hooks.example/T1"}, email=EMAIL
    )

    channels = open_channels(settings.alerts, environ={})

    assert (names(channels.primary), names(channels.fallback)) == (["slack"], ["email"])


def test_each_apprise_url_is_an_extra_channel(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, apprise=["json://127.0.0.1:9/a", "ntfy://topic"])

    channels = open_channels(settings.alerts)

    assert names(channels.extra) == ["apprise[0]:json", "apprise[1]:ntfy"]
    assert channels.primary == channels.fallback == ()


def test_every_registered_kind_has_a_role() -> None:
    assert set(CHANNEL_FACTORIES) == set(PRIMARY + FALLBACK + EXTRA)
