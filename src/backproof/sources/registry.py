"""From a database URL's scheme to its source: the one list of engine plug-ins."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from backproof.config.models import normalize_url_scheme
from backproof.errors import ConfigError
from backproof.sources.base import DatabaseSource
from backproof.sources.sqlite import SqliteSource


def _open_sqlite(url: str, _password: str | None) -> DatabaseSource:
    return SqliteSource(url)


def _open_postgresql(url: str, password: str | None) -> DatabaseSource:
    from backproof.sources.postgresql import PostgresqlSource  # noqa: PLC0415

    return PostgresqlSource(url, password)


def _open_mysql(url: str, password: str | None) -> DatabaseSource:
    from backproof.sources.mysql import MysqlSource  # noqa: PLC0415

    return MysqlSource(url, password)


ENGINES: dict[str, Callable[[str, str | None], DatabaseSource]] = {
    "sqlite": _open_sqlite,
    "postgresql": _open_postgresql,
    "mysql": _open_mysql,
    "mariadb": _open_mysql,
}


def engine_of(url: str) -> str:
    """Return the engine name of a database URL (``mariadb`` counts as ``mysql``)."""
    scheme = urlsplit(normalize_url_scheme(url)).scheme.split("+", 1)[0]
    return "mysql" if scheme == "mariadb" else scheme


def open_source(url: str, password: str | None = None) -> DatabaseSource:
    """Return the source for a database URL; ConfigError when the engine is unknown."""
    url = normalize_url_scheme(url)
    scheme = urlsplit(url).scheme.split("+", 1)[0]
    try:
        factory = ENGINES[scheme]
    except KeyError as exc:
        raise ConfigError([f"unsupported database URL scheme {scheme!r}"]) from exc
    return factory(url, password)
