"""From a database URL's scheme to its engine: the one list of engine plug-ins.

``open_database`` returns a source bound to the database a URL names, ``open_server`` one
bound to the server (or folder) where temporary ``verify_…`` databases go. The server engines
are imported only when a URL of theirs is opened, so the CLI starts light.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from backproof.config.models import normalize_url_scheme
from backproof.errors import ConfigError
from backproof.sources.base import DatabaseSource, ScratchServer
from backproof.sources.sqlite import SqliteScratchFolder, SqliteSource


@dataclass(frozen=True)
class Engine:
    """How one engine opens a database and a scratch server from a URL and its password."""

    open_database: Callable[[str, str | None], DatabaseSource]
    open_server: Callable[[str, str | None], ScratchServer]


def _sqlite_database(url: str, _password: str | None) -> DatabaseSource:
    return SqliteSource.from_url(url)


def _sqlite_server(url: str, _password: str | None) -> ScratchServer:
    return SqliteScratchFolder.from_url(url)


def _postgresql_database(url: str, password: str | None) -> DatabaseSource:
    from backproof.sources.postgresql import PostgresqlSource  # noqa: PLC0415

    return PostgresqlSource.from_url(url, password)


def _postgresql_server(url: str, password: str | None) -> ScratchServer:
    from backproof.sources.postgresql import PostgresqlServer  # noqa: PLC0415

    return PostgresqlServer.from_url(url, password)


def _mysql_database(url: str, password: str | None) -> DatabaseSource:
    from backproof.sources.mysql import MysqlSource  # noqa: PLC0415

    return MysqlSource.from_url(url, password)


def _mysql_server(url: str, password: str | None) -> ScratchServer:
    from backproof.sources.mysql import MysqlServer  # noqa: PLC0415

    return MysqlServer.from_url(url, password)


_SQLITE = Engine(_sqlite_database, _sqlite_server)
_POSTGRESQL = Engine(_postgresql_database, _postgresql_server)
_MYSQL = Engine(_mysql_database, _mysql_server)
ENGINES: dict[str, Engine] = {
    "sqlite": _SQLITE,
    "postgresql": _POSTGRESQL,
    "mysql": _MYSQL,
    "mariadb": _MYSQL,
}


def engine_of(url: str) -> str:
    """Return the engine name of a database URL (``mariadb`` counts as ``mysql``)."""
    scheme = urlsplit(normalize_url_scheme(url)).scheme.split("+", 1)[0]
    return "mysql" if scheme == "mariadb" else scheme


def open_database(url: str, password: str | None = None) -> DatabaseSource:
    """Return the source bound to the database at ``url`` (``password`` overrides the URL's).

    Raises ConfigError when the engine is unknown.
    """
    url = normalize_url_scheme(url)
    return _engine(url).open_database(url, password)


def open_server(url: str, password: str | None = None) -> ScratchServer:
    """Return the scratch server at ``url`` (``verify.url``: a server, or a folder for SQLite).

    Raises ConfigError when the engine is unknown.
    """
    url = normalize_url_scheme(url)
    return _engine(url).open_server(url, password)


def _engine(url: str) -> Engine:
    scheme = urlsplit(url).scheme.split("+", 1)[0]
    try:
        return ENGINES[scheme]
    except KeyError as exc:
        raise ConfigError([f"unsupported database URL scheme {scheme!r}"]) from exc
