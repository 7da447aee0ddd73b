"""Apprise to a real JSON webhook on loopback (Apprise's ``json://`` service)."""

from __future__ import annotations

import json

import pytest
from alert_receivers import WebhookReceiver

from backproof.alerts.apprise_channel import AppriseChannel
from backproof.alerts.base import AlertMessage, DeliveryError

CZECH = "Záloha crm selhala"


def test_message_reaches_a_json_webhook(webhook: WebhookReceiver) -> None:
    channel = AppriseChannel(f"json://127.0.0.1:{webhook.port}/apprise")

    channel.notify(AlertMessage(CZECH, {"target": "crm"}))

    (request,) = webhook.requests
    assert request.path == "/apprise"
    document = json.loads(request.body)
    assert document["title"] == f"[OPS] {CZECH}"
    assert '"target": "crm"' in document["message"]


def test_failing_service_is_a_delivery_error(webhook: WebhookReceiver) -> None:
    webhook.status = 500
    channel = AppriseChannel(f"json://127.0.0.1:{webhook.port}/apprise")

    with pytest.raises(DeliveryError, match="did not accept"):
        channel.notify(AlertMessage("x"))


def test_url_apprise_does_not_know_is_a_delivery_error() -> None:
    with pytest.raises(DeliveryError, match="does not understand"):
        AppriseChannel("nosuchservice://whatever").notify(AlertMessage("x"))
