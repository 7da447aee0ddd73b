"""Other services through Apprise URLs (Teams, Discord, Telegram, ntfy, Matrix, a JSON webhook…).

Each URL in ``alerts.apprise`` is one channel. They receive every message, besides Slack or its
e-mail fallback. Apprise tells success or failure but not why; its own log says more.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import apprise

from backproof.alerts.base import AlertMessage, DeliveryError
from backproof.masking import describe_error


def apprise_body(message: AlertMessage) -> str:
    """Return the Markdown body: the headline, then the context in a code block."""
    if not message.context:
        return message.headline
    return f"{message.headline}\n\n```\n{message.context_json()}\n```"


class AppriseChannel:
    """Sends messages to one Apprise URL."""

    def __init__(self, url: str | None, index: int = 0) -> None:
        self.url = url
        scheme = urlsplit(url).scheme if url and "://" in url else "?"
        self.name = f"apprise[{index}]:{scheme}"

    @property
    def is_noop(self) -> bool:
        """Return True without a URL."""
        return not self.url

    def notify(self, message: AlertMessage) -> None:
        """Send ``message``; raise DeliveryError when the URL is refused or the service fails."""
        if not self.url:
            raise DeliveryError("no Apprise URL is configured")
        with _quiet_plugin_imports():
            notifier = apprise.Apprise()
            if not notifier.add(self.url):
                raise DeliveryError("Apprise does not understand this URL (see its documentation)")
            try:
                delivered = notifier.notify(
                    body=apprise_body(message),
                    title=message.headline,
                    body_format=apprise.NotifyFormat.MARKDOWN,
                )
            except Exception as exc:  # a plug-in's error must not end the dispatch
                raise DeliveryError(f"Apprise failed: {describe_error(exc)}") from exc
        if not delivered:
            raise DeliveryError("the service did not accept the message (Apprise's log says why)")


@contextmanager
def _quiet_plugin_imports() -> Iterator[None]:
    """Silence the DeprecationWarning Apprise's plug-ins raise on import (``imghdr``, 3.11+).

    It is Apprise's to fix and says nothing about our message; under ``-W error`` it would turn
    every Apprise channel into a failure.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*imghdr.*", category=DeprecationWarning)
        yield
