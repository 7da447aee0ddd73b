"""Slack incoming webhooks, with the payload of the original specification.

The payload is exactly ``{"text": "[OPS] <event> ```<context as pretty JSON>```"}`` (the context
part only when there is one), encoded as UTF-8 with non-ASCII text as is. Redirects are not
followed (a webhook that redirects is misconfigured or hijacked) and only http(s) URLs are
accepted. The timeout (3 s by default) bounds each network step: connecting, sending, reading.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx

from backproof.alerts.base import AlertMessage, DeliveryError
from backproof.masking import describe_error

ALLOWED_SCHEMES = ("http", "https")
RESPONSE_EXCERPT_CHARACTERS = 200


def slack_text(message: AlertMessage) -> str:
    """Return the ``text`` of the payload: the headline, then the context in a code block."""
    if not message.context:
        return message.headline
    return f"{message.headline} ```{message.context_json()}```"


def slack_payload(message: AlertMessage) -> bytes:
    """Return the JSON body posted to the webhook, as UTF-8 bytes."""
    return json.dumps({"text": slack_text(message)}, ensure_ascii=False).encode("utf-8")


class SlackChannel:
    """Posts messages to one Slack incoming webhook."""

    name = "slack"

    def __init__(
        self,
        webhook_url: str | None,
        timeout_seconds: float = 3.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.webhook_url = webhook_url
        self.timeout_seconds = timeout_seconds
        self.transport = transport

    @property
    def is_noop(self) -> bool:
        """Return True without a webhook URL."""
        return not self.webhook_url

    def notify(self, message: AlertMessage) -> None:
        """Post ``message``; raise DeliveryError on a refused URL, a timeout or a non-2xx answer."""
        url = self._checked_url()
        try:
            with httpx.Client(
                timeout=self.timeout_seconds, follow_redirects=False, transport=self.transport
            ) as client:
                response = client.post(
                    url,
                    content=slack_payload(message),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"no answer within {self.timeout_seconds:g} s") from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"request failed: {describe_error(exc)}") from exc
        _check_response(response)

    def _checked_url(self) -> str:
        if not self.webhook_url:
            raise DeliveryError("no webhook URL is configured")
        parts = urlsplit(self.webhook_url)
        if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname:
            raise DeliveryError("the webhook URL must be an http:// or https:// URL with a host")
        return self.webhook_url


def _check_response(response: httpx.Response) -> None:
    if response.is_success:
        return
    if response.is_redirect:
        raise DeliveryError(
            f"the webhook answered HTTP {response.status_code} (a redirect, not followed)"
        )
    excerpt = " ".join(response.text[:RESPONSE_EXCERPT_CHARACTERS].split())
    raise DeliveryError(
        describe_error(ValueError(f"the webhook answered HTTP {response.status_code}: {excerpt}"))
    )
