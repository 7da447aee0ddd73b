"""The dead man's switch: healthchecks-style pings around ``run``.

The faces (CLI, service, worker) register it as a chain hook (``after_run.PingDeadManSwitch``);
the chain itself knows nobody who listens.

``<url>/start`` when a run begins, ``<url>`` when every job of it ran and succeeded, ``<url>/fail``
when one did not: the run's own outcome. The health verdict is in the body, not the ping: a
warning carried by older history is not a failure of this run. The monitoring service alerts when
a ping says fail, and also when no ping comes at all: a run that never happens is noticed too.
Works with healthchecks.io, a self-hosted Healthchecks, and services that copy its URL scheme.

A ping that fails is logged and changes nothing else: monitoring must never break a backup.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

import httpx

from backproof.config.models import AlertSettings
from backproof.masking import describe_error, mask_text

logger = logging.getLogger(__name__)

PING_TIMEOUT_SECONDS = 5.0
BODY_MAX_CHARACTERS = 10_000
ALLOWED_SCHEMES = ("http", "https")


def ping_url(base_url: str, suffix: str = "") -> str:
    """Return ``base_url`` with ``/suffix`` added to its path (query kept), or as is."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/") + (f"/{suffix}" if suffix else "")
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


class DeadManSwitch:
    """Pings one healthchecks-style URL; does nothing without one."""

    def __init__(
        self,
        url: str | None,
        timeout_seconds: float = PING_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.timeout_seconds = timeout_seconds
        self.transport = transport

    @classmethod
    def from_settings(cls, settings: AlertSettings) -> DeadManSwitch:
        """Return the switch of ``alerts.healthcheck_url`` (a no-op when unset)."""
        url = settings.healthcheck_url
        return cls(url.get_secret_value() if url is not None else None)

    @property
    def is_noop(self) -> bool:
        """Return True without a URL."""
        return not self.url

    def start(self) -> str | None:
        """Ping ``/start``; return None when it was taken, else why not."""
        return self.ping("start")

    def finish(self, succeeded: bool, summary: str = "") -> str | None:
        """Ping success or ``/fail`` with ``summary`` as the body; return None or why not."""
        return self.ping("" if succeeded else "fail", summary)

    def ping(self, suffix: str, body: str = "") -> str | None:
        """Send one ping; return None when it was taken (or there is no URL), else why not."""
        if not self.url:
            return None
        error = self._send(ping_url(self.url, suffix), mask_text(body)[:BODY_MAX_CHARACTERS])
        if error is not None:
            logger.warning("dead man's switch ping %r failed: %s", suffix or "success", error)
        return error

    def _send(self, url: str, body: str) -> str | None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname:
            return "the healthcheck URL must be an http:// or https:// URL with a host"
        try:
            with httpx.Client(
                timeout=self.timeout_seconds, follow_redirects=False, transport=self.transport
            ) as client:
                response = client.post(
                    url,
                    content=body.encode("utf-8"),
                    headers={"Content-Type": "text/plain; charset=utf-8"},
                )
        except httpx.TimeoutException:
            return f"no answer within {self.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            return f"request failed: {describe_error(exc)}"
        if not response.is_success:
            return f"answered HTTP {response.status_code}"
        return None
