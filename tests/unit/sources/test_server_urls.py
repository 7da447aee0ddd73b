"""Server URLs are read as SQLAlchemy reads them, without importing it."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from backproof.errors import ConfigError
from backproof.sources.server_urls import ServerUrl, parse_server_url

URLS = (
    "postgresql://postgres@127.0.0.1:5432/crm",
    "postgresql+psycopg://app:s%40cr%3At@db.example/crm?sslmode=require&sslmode=verify-full",
    "mysql://root@127.0.0.1:3306/crm",
    "mariadb://user:pa:ss@[::1]:3307/my%20db?charset=utf8mb4",
    "postgresql://db.example/crm",
    "postgresql://@localhost",
    "postgresql:///crm?host=/var/run/postgresql",
    "mysql://u:@h/d",
)


def as_sqlalchemy_reads(url: str) -> ServerUrl:
    parsed = make_url(url)
    return ServerUrl(
        scheme=parsed.drivername.split("+", 1)[0],
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=None if parsed.password is None else str(parsed.password),
        database=parsed.database or None,
        query={
            name: value if isinstance(value, str) else value[-1]
            for name, value in parsed.query.items()
        },
    )


@pytest.mark.parametrize("url", URLS)
def test_a_server_url_has_the_parts_sqlalchemy_finds(url: str) -> None:
    parsed = parse_server_url(url)

    assert parsed == as_sqlalchemy_reads(url)
    assert parsed.password == as_sqlalchemy_reads(url).password


@pytest.mark.parametrize(
    "url", ["not a url", "postgresql://h:54x2/crm", "postgresql://h:/crm", "://h/d"]
)
def test_a_url_that_cannot_be_read_is_a_config_error_that_hides_its_password(url: str) -> None:
    with pytest.raises(ConfigError, match="invalid database URL"):
        parse_server_url(url)


def test_the_password_of_a_url_that_cannot_be_read_is_not_in_the_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_server_url("postgresql://app:hunter2@h:54x2/crm")

    assert "hunter2" not in str(caught.value)
