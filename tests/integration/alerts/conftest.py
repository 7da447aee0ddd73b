"""Fixtures of the alert integration tests: real receivers on loopback, a trusted test CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alert_receivers import MailHandler, WebhookReceiver, make_certificate, start_smtp


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    """A Slack-compatible webhook receiver on loopback answering 200."""
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def mailbox() -> MailHandler:
    return MailHandler()


@pytest.fixture
def plain_smtp(mailbox: MailHandler) -> Iterator[int]:
    """A plain SMTP server on loopback; yields its port."""
    controller = start_smtp(mailbox)
    yield controller.port
    controller.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with openssl)."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trusted_certificate(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """The test certificate, trusted by the default SSL context as a system CA would be."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    return certificate
