"""Masking of sensitive values: examples for each rule, then properties over random text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backproof.masking import looks_like_aws_secret, mask_email, mask_text, shorten_hash

SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


def test_mask_email_keeps_first_letters_and_tld_for_a_plain_address() -> None:
    assert mask_email("jan.novak@example.com") == "j***@e***.com"


def test_mask_email_keeps_only_the_first_label_and_tld_for_a_subdomain() -> None:
    assert mask_email("ops@mail.example.co.uk") == "o***@m***.uk"


def test_mask_email_masks_whole_text_when_not_an_address() -> None:
    assert mask_email("not-an-address") == "***"


def test_shorten_hash_keeps_twelve_characters_for_a_sha256() -> None:
    assert shorten_hash(SHA256) == "9f86d081884c…"


def test_shorten_hash_keeps_the_prefix_for_a_labelled_sha256() -> None:
    assert shorten_hash(f"sha256:{SHA256}") == "sha256:9f86d081884c…"


@pytest.mark.parametrize("value", ["abc", SHA256[:40], SHA256 + "0", "z" * 64])
def test_shorten_hash_returns_text_unchanged_when_not_a_sha256(value: str) -> None:
    assert shorten_hash(value) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jan.novak@example.com now", "mail j***@e***.com now"),
        ("mailto:jan@example.org", "mailto:j***@e***.org"),
        ("postgresql://backup:hunter2@db:5432/crm", "postgresql://backup:***@db:5432/crm"),
        (
            "https://hooks.slack.com/services/T0/B0/abcdef ok",
            "https://hooks.slack.com/services/*** ok",
        ),
        ("GET /x?token=abc123&page=2", "GET /x?token=***&page=2"),
        ("password=hunter2 secret=s3 key=k1", "password=*** secret=*** key=***"),
        (
            "AWS_SECRET_ACCESS_KEY=abc access_token=xyz",
            "AWS_SECRET_ACCESS_KEY=*** access_token=***",
        ),
        ('{"password": "two words"}', '{"password": "***"}'),
        ("Authorization: Bearer eyJhbGciOi.x", "Authorization: Bearer ***"),
        ("identity AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGP", "identity AGE-SECRET-KEY-1***"),
        ("id AKIAIOSFODNN7EXAMPLE", "id AKIA***"),
        (f"secret {AWS_SECRET}.", "secret ***."),
        (f"part db sha256 {SHA256}", "part db sha256 9f86d081884c…"),
    ],
)
def test_mask_text_masks_the_sensitive_part_for_each_kind(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "backup 20261126T010000Z-ab12 restored in 12.30 s: 2 tables, 1200 rows",
        "postgresql://backup@db.internal:5432/crm",
        "key_tables companies, contacts",
        "commit 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
        "/var/backproof/backups/crm/20261126T0100",
    ],
)
def test_mask_text_leaves_text_unchanged_when_nothing_is_sensitive(text: str) -> None:
    assert mask_text(text) == text


def test_looks_like_aws_secret_is_false_for_a_path_of_forty_characters() -> None:
    assert not looks_like_aws_secret("/srv/backups/crm/Daily/2026/11/26T010000")


@PROPERTY_SETTINGS
@given(
    password=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789!$%^", min_size=6, max_size=30),
    prefix=st.text(max_size=40),
    suffix=st.text(max_size=40),
)
def test_mask_text_never_shows_a_url_password_whatever_surrounds_it(
    password: str, prefix: str, suffix: str
) -> None:
    text = f"{prefix} mysql://app:{password}@db.internal/crm {suffix}"
    masked = mask_text(text)
    assert f":{password}@" not in masked
    # After "Bearer " the scheme itself is taken for a token and masked too: more, not less.
    if not re.search(r"(?i)\bbearer\s*$", prefix):
        assert "mysql://app:***@db.internal/crm" in masked


@PROPERTY_SETTINGS
@given(text=st.text(max_size=200))
def test_mask_text_changes_nothing_when_applied_twice(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once
