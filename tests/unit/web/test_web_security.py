"""Where the service may listen, and the comparison of tokens."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from backproof.errors import UsageError
from backproof.web.security import (
    check_bind,
    is_bearer_header_valid,
    is_loopback_host,
    is_token_valid,
)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
def test_is_loopback_host_accepts_loopback_addresses(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.org"],  # noqa: S104 - never bound
)
def test_is_loopback_host_refuses_other_addresses(host: str) -> None:
    assert not is_loopback_host(host)


def test_check_bind_refuses_beyond_loopback_without_a_token() -> None:
    with pytest.raises(UsageError, match=r"refusing to listen on '0\.0\.0\.0' without a token"):
        check_bind("0.0.0.0", None)  # noqa: S104 - the address refused


def test_check_bind_refuses_beyond_loopback_with_an_empty_token() -> None:
    with pytest.raises(UsageError):
        check_bind("0.0.0.0", SecretStr(""))  # noqa: S104 - the address refused


def test_check_bind_allows_beyond_loopback_with_a_token() -> None:
    check_bind("0.0.0.0", SecretStr("token"))  # noqa: S104 - only checked, never bound


def test_check_bind_allows_loopback_without_a_token() -> None:
    check_bind("127.0.0.1", None)


def test_is_token_valid_compares_whole_tokens() -> None:
    assert is_token_valid("abc", "abc")
    assert not is_token_valid("ab", "abc")
    assert not is_token_valid("abcd", "abc")
    assert not is_token_valid("", "abc")


@pytest.mark.parametrize(
    ("header", "valid"),
    [
        (b"Bearer abc", True),
        (b"bearer abc", True),
        (b"Bearer abd", False),
        (b"Basic abc", False),
        (b"abc", False),
        (None, False),
    ],
)
def test_is_bearer_header_valid_requires_the_bearer_scheme_and_the_token(
    header: bytes | None, valid: bool
) -> None:
    assert is_bearer_header_valid(header, "abc") is valid
