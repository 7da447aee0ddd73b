"""Slack over real HTTP on loopback: the exact payload, Czech as is, failures and timeouts."""

from __future__ import annotations

import json

import pytest
from alert_receivers import WebhookReceiver

from backproof.alerts.base import AlertMessage, DeliveryError, make_message
from backproof.alerts.slack import SlackChannel

CZECH = "Ověření obnovy selhalo dvakrát po sobě: tabulka „kontakty“ má o 3 řádky méně"


def test_message_is_posted_as_the_specified_payload(webhook: WebhookReceiver) -> None:
    message = AlertMessage("backup of crm failed", {"target": "crm"})

    SlackChannel(webhook.url()).notify(message)

    (request,) = webhook.requests
    assert request.path == "/services/T000/B000/hook"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(request.body) == {
        "text": '[OPS] backup of crm failed ```{\n    "target": "crm"\n}```'
    }


def test_czech_message_arrives_unescaped(webhook: WebhookReceiver) -> None:
    SlackChannel(webhook.url()).notify(make_message(CZECH, {"zpráva": CZECH}))

    (request,) = webhook.requests
    assert CZECH.encode("utf-8") in request.body
    assert b"\\u" not in request.body
    assert webhook.texts() == [f'[OPS] {CZECH} ```{{\n    "zpráva": "{CZECH}"\n}}```']


def test_server_error_is_a_delivery_error(webhook: WebhookReceiver) -> None:
    webhook.status = 500

    with pytest.raises(DeliveryError, match="the webhook answered HTTP 500: invalid_payload"):
        SlackChannel(webhook.url()).notify(AlertMessage("x"))


def test_hanging_webhook_times_out(webhook: WebhookReceiver) -> None:
    webhook.hang = True

    with pytest.raises(DeliveryError, match=r"no answer within 0.3 s"):
        SlackChannel(webhook.url(), timeout_seconds=0.3).notify(AlertMessage("x"))


def test_redirect_is_not_followed(webhook: WebhookReceiver) -> None:
    webhook.status = 302
    webhook.location = webhook.url("/elsewhere")

    with pytest.raises(DeliveryError, match="HTTP 302 \\(a redirect, not followed\\)"):
        SlackChannel(webhook.url()).notify(AlertMessage("x"))

    assert [request.path for request in webhook.requests] == ["/services/T000/B000/hook"]


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/hook", "gopher://127.0.0.1", "http:///nohost"]
)
def test_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(DeliveryError, match="must be an http:// or https:// URL"):
        SlackChannel(url).notify(AlertMessage("x"))


def test_refused_connection_is_a_delivery_error() -> None:
    receiver = WebhookReceiver().start()
    url = receiver.url()
    receiver.stop()

    with pytest.raises(DeliveryError, match="request failed"):
        SlackChannel(url).notify(AlertMessage("x"))
