"""The secrets backproof knows, masked by value wherever text leaves the process.

Patterns (``masking``) catch what looks like a secret; they miss a password a server echoes back
in its own words, or a webhook URL quoted in a receiver's error page. So every secret backproof
reads — database passwords (in URLs, the environment or files), S3 keys, webhook, Apprise and
healthcheck URLs, the SMTP password, tokens — is remembered here, and ``mask_secrets`` replaces
each of them (and its percent-encoded forms) by ``***`` in any text. ``mask_url``, and through it
``mask_text``, the audit trail, the CLI's error line and every log record go through it.

The registry is process-wide on purpose: a secret read anywhere is masked everywhere. It only
grows; values shorter than ``MIN_SECRET_LENGTH`` are not remembered (they would mask ordinary
words).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

from pydantic import BaseModel, SecretStr

MASK = "***"
MIN_SECRET_LENGTH = 8  # shorter ones are left to the patterns of ``masking``
MIN_URL_TAIL_LENGTH = 12  # a URL's path is masked alone only when it is long enough to be a key
# Variables the tools and libraries read on their own: their values are secrets too.
SECRET_VARIABLES = ("PGPASSWORD", "MYSQL_PWD", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")

# URLs of servers (state database, broker): only their password is secret; the address is what
# an error message must name.
SERVER_SCHEMES = frozenset(
    {"postgresql", "postgres", "mysql", "mariadb", "sqlite", "redis", "rediss", "amqp", "amqps"}
)

_lock = threading.Lock()
_values: tuple[str, ...] = ()
_factory_installed = False


def remember_secrets(values: Iterable[str | None]) -> None:
    """Remember ``values`` (and their percent-encoded forms) as secrets to mask."""
    global _values  # noqa: PLW0603 - the one process-wide registry, replaced whole
    new = {
        form
        for value in values
        if value and len(value) >= MIN_SECRET_LENGTH
        for form in _forms(value)
        if len(form) >= MIN_SECRET_LENGTH
    }
    with _lock:
        merged = set(_values) | new
        _values = tuple(sorted(merged, key=len, reverse=True))
    if _values:  # until a secret is known, a record has nothing to mask
        _install_log_masking()


def _forms(value: str) -> tuple[str, ...]:
    """Return the ways ``value`` may come back: as is, percent-encoded, JSON-escaped, and for a
    URL its path and query (a receiver may quote only the path, which holds the webhook's key)."""
    forms = (value, quote(value, safe=""), quote_plus(value), value.replace("/", "\\/"))
    if "://" not in value:
        return forms
    try:
        parts = urlsplit(value)
    except ValueError:
        return forms
    tail = parts.path + ("?" + parts.query if parts.query else "")
    return (*forms, tail) if len(tail) >= MIN_URL_TAIL_LENGTH else forms


def forget_secrets() -> None:
    """Forget every remembered secret (for tests, which load many configurations in one process)."""
    global _values  # noqa: PLW0603 - the one process-wide registry, replaced whole
    with _lock:
        _values = ()


def mask_secrets(text: str) -> str:
    """Return ``text`` with every remembered secret replaced by ``***``."""
    for value in _values:
        if value in text:
            text = text.replace(value, MASK)
    return text


def secrets_of(settings: BaseModel) -> list[str]:
    """Return every secret in ``settings``: SecretStr values and the passwords of URLs."""
    found: list[str] = []
    _collect(settings, found)
    return found


def secrets_of_environment(environ: dict[str, str] | Any) -> list[str]:
    """Return the values of the secret variables the tools read (``PGPASSWORD``…)."""
    return [environ[name] for name in SECRET_VARIABLES if environ.get(name)]


def _collect(value: object, found: list[str]) -> None:
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        if not _is_server_url(secret):
            found.append(secret)  # a webhook, Apprise or healthcheck URL is a secret whole
        _collect(secret, found)
    elif isinstance(value, str):
        if "://" in value and "@" in value:
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            found.append(unquote(password) if password else "")
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _collect(getattr(value, name), found)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, found)


def _is_server_url(value: str) -> bool:
    """Return True for a database or broker URL: its password is the secret, not the address."""
    return value.split("://", 1)[0].split("+", 1)[0].lower() in SERVER_SCHEMES


def _install_log_masking() -> None:
    """Mask every log record as it is made, whichever handler writes it (once per process)."""
    import logging  # noqa: PLC0415 - `list` and `--help` log nothing (start-up, issue 12)

    global _factory_installed  # noqa: PLW0603 - installed once
    with _lock:
        if _factory_installed:
            return
        _factory_installed = True
    make_record = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    logging.setLogRecordFactory(masked_record)
