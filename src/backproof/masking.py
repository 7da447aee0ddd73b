"""Masking of sensitive values in text that people read: reports, pages, messages.

Every function here is pure and idempotent: masking masked text changes nothing, so a value may
pass through ``mask_text`` more than once on its way to a reader. The patterns err on the side of
masking too much: a masked word costs a reader a moment, a leaked secret costs a rotation.
"""

from __future__ import annotations

import re

from backproof.secret_values import mask_secrets

MASK = "***"
HASH_PREFIX_LENGTH = 12
SHA256_HEX_LENGTH = 64
AWS_SECRET_LENGTH = 40
# A run of 40 base64 characters is an AWS secret access key only if it looks random: paths and
# words of that length rarely mix cases and digits with at most a couple of slashes.
AWS_SECRET_MAX_SLASHES = 2

# The local part must start the word and must not be the user of a URL (``scheme://user@host``):
# those are account names, and the URL rule below deals with their passwords.
EMAIL_PATTERN = re.compile(
    r"(?<![\w.%+\-])(?<!://)(?P<local>[\w.%+\-]+)@(?P<domain>[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
    r"\.[A-Za-z]{2,})\b"
)
SLACK_WEBHOOK_PATTERN = re.compile(
    r"(?P<base>hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s\"'<>)\]|`]+"
)
# ``password=…``, ``access_token=…``, ``AWS_SECRET_ACCESS_KEY=…``, ``"password": "…"``.
SECRET_NAME = r"[\w\-]*(?:token|password|passwd|pwd|secret|key)"  # noqa: S105 - a pattern
KEY_VALUE_PATTERN = re.compile(
    rf"(?i)(?P<name>\b{SECRET_NAME})(?P<separator>=)(?P<value>[^\s&;,\"'<>|`]+)"
)
QUOTED_KEY_VALUE_PATTERN = re.compile(
    rf"(?i)(?P<name>\"{SECRET_NAME}\"\s*:\s*\")(?P<value>[^\"]*)(?P<end>\")"
)
BEARER_PATTERN = re.compile(r"(?i)(?P<scheme>\bbearer\s+)[A-Za-z0-9\-._~+/]+=*")
AGE_SECRET_KEY_PATTERN = re.compile(r"AGE-SECRET-KEY-1[0-9A-Za-z]+")
# The password of a URL runs to the last ``@`` before the host, as in ``urlsplit``.
URL_PASSWORD_PATTERN = re.compile(r"(://[^/:@\s]*):[^/\s]*@")


def mask_url(url: str) -> str:
    """Return ``url`` (or any text) with URL passwords and every known secret masked."""
    return mask_secrets(URL_PASSWORD_PATTERN.sub(rf"\1:{MASK}@", url))


AWS_ACCESS_KEY_ID_PATTERN = re.compile(r"\b(?P<kind>AKIA|ASIA)[0-9A-Z]{16}\b")
AWS_SECRET_PATTERN = re.compile(
    rf"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{{{AWS_SECRET_LENGTH}}}(?![A-Za-z0-9/+=])"
)
SHA256_PATTERN = re.compile(rf"(?<![0-9A-Fa-f])[0-9A-Fa-f]{{{SHA256_HEX_LENGTH}}}(?![0-9A-Fa-f])")


def mask_email(address: str) -> str:
    """Return an anonymised e-mail address: ``jan.novak@example.com`` -> ``j***@e***.com``.

    Keeps the first letter of the local part and of the domain's first label, and the top-level
    domain. Text that is not an address comes back masked whole.
    """
    local, separator, domain = address.rpartition("@")
    if not separator or not local or not domain:
        return MASK
    labels = domain.split(".")
    masked_domain = labels[0][:1] + MASK
    if len(labels) > 1:
        masked_domain += "." + labels[-1]
    return f"{local[:1]}{MASK}@{masked_domain}"


def shorten_hash(value: str) -> str:
    """Return a sha256 hex digest as its first 12 characters and ``…``; other text unchanged.

    A ``sha256:`` prefix is kept: ``sha256:9f86d081884c…``.
    """
    prefix = "sha256:" if value.lower().startswith("sha256:") else ""
    digest = value[len(prefix) :]
    if SHA256_PATTERN.fullmatch(digest) is None:
        return value
    return f"{prefix}{digest[:HASH_PREFIX_LENGTH]}…"


def mask_text(text: str) -> str:
    """Return ``text`` with every secret masked, every e-mail anonymised, every sha256 shortened.

    Masks URL passwords, Slack webhook paths, ``token=``/``password=``/``secret=``/``key=``
    values (also as quoted JSON keys and with prefixes like ``access_token``), bearer tokens,
    age secret keys and AWS keys.
    """
    text = SLACK_WEBHOOK_PATTERN.sub(lambda match: match["base"] + MASK, text)
    text = mask_url(text)
    text = KEY_VALUE_PATTERN.sub(lambda match: match["name"] + match["separator"] + MASK, text)
    text = QUOTED_KEY_VALUE_PATTERN.sub(lambda match: match["name"] + MASK + match["end"], text)
    text = BEARER_PATTERN.sub(lambda match: match["scheme"] + MASK, text)
    text = AGE_SECRET_KEY_PATTERN.sub("AGE-SECRET-KEY-1" + MASK, text)
    text = AWS_ACCESS_KEY_ID_PATTERN.sub(lambda match: match["kind"] + MASK, text)
    text = AWS_SECRET_PATTERN.sub(_mask_aws_secret, text)
    text = EMAIL_PATTERN.sub(lambda match: mask_email(match[0]), text)
    return SHA256_PATTERN.sub(lambda match: shorten_hash(match[0]), text)


def looks_like_aws_secret(candidate: str) -> bool:
    """Return whether a 40-character base64 run looks random enough to be an AWS secret key."""
    return (
        len(candidate) == AWS_SECRET_LENGTH
        and any(character.isupper() for character in candidate)
        and any(character.islower() for character in candidate)
        and any(character.isdigit() for character in candidate)
        and candidate.count("/") <= AWS_SECRET_MAX_SLASHES
        and not candidate.startswith("/")
    )


def _mask_aws_secret(match: re.Match[str]) -> str:
    return MASK if looks_like_aws_secret(match[0]) else match[0]


def describe_error(exc: BaseException) -> str:
    """Return an error as one masked line for a log, an activity, an alert or a ping's body."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return mask_text(text)
