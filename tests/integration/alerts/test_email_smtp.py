"""E-mail through a real SMTP server (aiosmtpd) on loopback: plain, STARTTLS, TLS, login."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from alert_receivers import (
    LOGIN,
    MailHandler,
    free_port,
    server_tls_context,
    start_smtp,
)

from backproof.alerts.base import AlertMessage, DeliveryError
from backproof.alerts.email import EmailChannel
from backproof.config.models import EmailSettings

CZECH = "Záloha crm selhala: disk je plný"


def settings(port: int, **changes: Any) -> EmailSettings:
    raw = {
        "host": "127.0.0.1",
        "port": port,
        "security": "plain",
        "from": "backproof@example.com",
        "to": ["oncall@example.com", "boss@example.com"],
        "timeout_seconds": 5,
    }
    return EmailSettings.model_validate(raw | changes)


def received(mailbox: MailHandler) -> EmailMessage:
    (envelope,) = mailbox.envelopes
    assert isinstance(envelope.content, bytes)
    email = message_from_bytes(envelope.content, policy=default_policy)
    assert isinstance(email, EmailMessage)
    return email


@pytest.fixture
def starttls_smtp(mailbox: MailHandler, trusted_certificate: tuple[Path, Path]) -> Iterator[int]:
    controller = start_smtp(
        mailbox, starttls=server_tls_context(*trusted_certificate), with_login=True
    )
    yield controller.port
    controller.stop()


@pytest.fixture
def tls_smtp(mailbox: MailHandler, trusted_certificate: tuple[Path, Path]) -> Iterator[int]:
    controller = start_smtp(
        mailbox, implicit_tls=server_tls_context(*trusted_certificate), with_login=True
    )
    yield controller.port
    controller.stop()


def test_plain_smtp_delivers_to_every_recipient(plain_smtp: int, mailbox: MailHandler) -> None:
    EmailChannel(settings(plain_smtp)).notify(AlertMessage(CZECH, {"target": "crm"}))

    (envelope,) = mailbox.envelopes
    assert envelope.mail_from == "backproof@example.com"
    assert envelope.rcpt_tos == ["oncall@example.com", "boss@example.com"]
    email = received(mailbox)
    assert email["Subject"] == f"[OPS] {CZECH}"
    body = email.get_body()
    assert isinstance(body, EmailMessage)
    assert '"target": "crm"' in body.get_content()


def test_starttls_with_login_delivers(starttls_smtp: int, mailbox: MailHandler) -> None:
    channel = EmailChannel(
        settings(starttls_smtp, security="starttls", username=LOGIN[0], password=LOGIN[1])
    )

    channel.notify(AlertMessage("verify of crm failed 2 times in a row"))

    assert received(mailbox)["Subject"] == "[OPS] verify of crm failed 2 times in a row"


def test_implicit_tls_with_password_from_environment_delivers(
    tls_smtp: int, mailbox: MailHandler
) -> None:
    channel = EmailChannel(
        settings(tls_smtp, security="tls", username=LOGIN[0], password_env="SMTP_PASSWORD"),
        environ={"SMTP_PASSWORD": LOGIN[1]},
    )

    channel.notify(AlertMessage("backup of crm failed"))

    assert len(mailbox.envelopes) == 1


def test_wrong_password_is_a_delivery_error_without_the_password(starttls_smtp: int) -> None:
    channel = EmailChannel(
        settings(starttls_smtp, security="starttls", username=LOGIN[0], password="wrong-pw")
    )

    with pytest.raises(DeliveryError, match="535") as caught:
        channel.notify(AlertMessage("x"))

    assert "wrong-pw" not in str(caught.value)


def test_untrusted_certificate_is_refused(
    mailbox: MailHandler, certificate: tuple[Path, Path]
) -> None:
    controller = start_smtp(mailbox, starttls=server_tls_context(*certificate))
    try:
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            EmailChannel(settings(controller.port, security="starttls")).notify(AlertMessage("x"))
    finally:
        controller.stop()
    assert mailbox.envelopes == []


def test_unreachable_server_is_a_delivery_error() -> None:
    with pytest.raises(DeliveryError, match="Connection refused"):
        EmailChannel(settings(free_port())).notify(AlertMessage("x"))


def test_missing_password_variable_is_a_delivery_error(plain_smtp: int) -> None:
    channel = EmailChannel(
        settings(plain_smtp, username="ops", password_env="NOT_SET_ANYWHERE"), environ={}
    )
    with pytest.raises(DeliveryError, match="NOT_SET_ANYWHERE"):
        channel.notify(AlertMessage("x"))
