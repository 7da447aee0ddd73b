"""E-mail over SMTP: the fallback when Slack is not configured, fails or times out.

``security`` is ``plain`` (no encryption; for a relay on the same host), ``starttls`` (upgrade
on port 587, the default) or ``tls`` (implicit TLS, port 465). Certificates are checked against
the system's trust store (``SSL_CERT_FILE`` points elsewhere). The password comes from
``password`` or from the environment variable ``password_env``.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from backproof.alerts.base import AlertMessage, DeliveryError
from backproof.config.models import EmailSettings
from backproof.masking import describe_error

SUBJECT_MAX_CHARACTERS = 180


def build_email(message: AlertMessage, settings: EmailSettings) -> EmailMessage:
    """Return the e-mail of ``message``: the headline as subject, the context as JSON below."""
    email = EmailMessage()
    headline = message.headline
    if len(headline) > SUBJECT_MAX_CHARACTERS:
        headline = headline[: SUBJECT_MAX_CHARACTERS - 1] + "…"
    email["Subject"] = headline
    email["From"] = settings.from_address
    email["To"] = ", ".join(settings.to)
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = make_msgid(domain=socket.gethostname() or "backproof")
    body = message.headline + "\n"
    if message.context:
        body += "\n" + message.context_json() + "\n"
    body += "\n-- \nsent by backproof on " + socket.gethostname() + "\n"
    email.set_content(body, charset="utf-8")
    return email


class EmailChannel:
    """Sends messages through one SMTP server."""

    name = "email"

    def __init__(
        self, settings: EmailSettings | None, environ: Mapping[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.environ = os.environ if environ is None else environ

    @property
    def is_noop(self) -> bool:
        """Return True without an ``[alerts.email]`` section."""
        return self.settings is None

    def notify(self, message: AlertMessage) -> None:
        """Send ``message``; raise DeliveryError when the server cannot be reached or refuses."""
        settings = self.settings
        if settings is None:
            raise DeliveryError("no [alerts.email] section is configured")
        password = self._password(settings)
        email = build_email(message, settings)
        where = f"{settings.host}:{settings.port}"
        try:
            with _connect(settings) as smtp:
                if settings.username:
                    smtp.login(settings.username, password or "")
                smtp.send_message(email)
        except TimeoutError as exc:
            raise DeliveryError(
                f"{where}: no answer within {settings.timeout_seconds:g} s"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{where}: {describe_error(exc)}") from exc

    def _password(self, settings: EmailSettings) -> str | None:
        if settings.password is not None:
            return settings.password.get_secret_value()
        if settings.password_env:
            if settings.password_env not in self.environ:
                raise DeliveryError(
                    f"environment variable {settings.password_env} (alerts.email.password_env) "
                    "is not set"
                )
            return self.environ[settings.password_env]
        return None


def _connect(settings: EmailSettings) -> smtplib.SMTP:
    """Return an SMTP session, encrypted as ``security`` says."""
    if settings.security == "tls":
        return smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout_seconds,
            context=ssl.create_default_context(),
        )
    smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    if settings.security == "starttls":
        try:
            smtp.starttls(context=ssl.create_default_context())
        except BaseException:
            smtp.close()
            raise
    return smtp
