"""``backproof alert test``: one test message through every configured channel, each reported.

Unlike a real alert, the test goes through every channel (e-mail too when Slack works), skips
the rate limit, and pings the dead man's switch at ``<url>/log``, which healthchecks records
without changing the check's state.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from backproof import __version__
from backproof.alerts.base import make_message
from backproof.alerts.deadman import DeadManSwitch
from backproof.alerts.delivery import attempt
from backproof.alerts.registry import open_channels
from backproof.clock import isoformat
from backproof.config.models import AlertSettings, Settings
from backproof.state.activities import ActivityLog
from backproof.state.records import AlertMeta

TEST_EVENT = "test message from backproof: alerts reach you"


@dataclass(frozen=True)
class ProbeResult:
    """What one channel did with the test message."""

    channel: str
    error: str | None

    @property
    def worked(self) -> bool:
        """Return True when the channel took the message."""
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        """Return the result as one item of ``alert test --json``."""
        return {"channel": self.channel, "worked": self.worked, "error": self.error}


def is_anything_configured(settings: AlertSettings) -> bool:
    """Return True when a channel or a healthcheck URL is configured."""
    return not open_channels(settings).is_empty or not DeadManSwitch.from_settings(settings).is_noop


def probe_channels(settings: Settings, log: ActivityLog) -> list[ProbeResult]:
    """Send a test message through every configured channel; record it; return each result.

    An empty list means no channel (and no healthcheck URL) is configured.
    """
    alert_settings = settings.alerts
    message = make_message(
        TEST_EVENT,
        {
            "host": socket.gethostname(),
            "at": isoformat(log.clock()),
            "version": __version__,
            "targets": [target.name for target in settings.targets],
        },
    )
    results = [
        ProbeResult(channel.name, attempt(channel, message))
        for channel in open_channels(alert_settings).all
    ]
    switch = DeadManSwitch.from_settings(alert_settings)
    if not switch.is_noop:
        results.append(ProbeResult("healthcheck", switch.ping("log", message.headline)))
    if results:
        worked = all(result.worked for result in results)
        summary = "; ".join(f"{item.channel}: {item.error or 'ok'}" for item in results)
        meta = AlertMeta(test=True, channels={item.channel: item.error for item in results})
        log.record(
            meta.job,
            None,
            "success" if worked else "failed",
            f"test message: {summary}",
            meta.to_json(),
        )
    return results
