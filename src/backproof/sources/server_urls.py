"""Database server URLs of the server engines: parsed once, rendered without their password.

``postgresql://user[:password]@host:port/database?option=value`` and the same for ``mysql://``
and ``mariadb://``. The password of a URL is only a fallback: the source's explicit password
(from ``password_env`` or ``password_file``) wins, and neither is ever rendered back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlencode

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from backproof.errors import ConfigError
from backproof.masking import mask_url

# The names this host goes by: a database on any of them is the same database.
LOCAL_HOSTS = frozenset({None, "", "localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class ServerUrl:
    """The parts of a server database URL."""

    scheme: str
    host: str | None
    port: int | None
    user: str | None
    password: str | None = field(repr=False)
    database: str | None
    query: dict[str, str] = field(default_factory=dict)

    def with_database(self, database: str | None) -> ServerUrl:
        """Return the same server and credentials with another database."""
        return replace(self, database=database)

    def place(self, default_port: int) -> tuple[str, ...]:
        """Return what names the database whatever the URL's spelling: its server (this host's
        names taken as one), its port and its name."""
        host = "local" if self.host in LOCAL_HOSTS else str(self.host)
        return (host, str(self.port or default_port), self.database or "")

    def render(self) -> str:
        """Return the URL without its password (safe to log, store and pass around)."""
        user = quote(self.user, safe="") + "@" if self.user else ""
        host = self.host or ""
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        port = f":{self.port}" if self.port else ""
        database = "/" + quote(self.database, safe="") if self.database else ""
        query = "?" + urlencode(self.query) if self.query else ""
        return f"{self.scheme}://{user}{host}{port}{database}{query}"

    @property
    def label(self) -> str:
        """A short name for messages: ``host:port/database``."""
        host = self.host or "localhost"
        port = f":{self.port}" if self.port else ""
        return f"{host}{port}/{self.database or ''}"


def parse_server_url(url: str) -> ServerUrl:
    """Return the parts of a server URL.

    Raises ConfigError when ``url`` cannot be parsed.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError([f"invalid database URL {mask_url(url)!r}: {exc}"]) from exc
    query = {
        name: value if isinstance(value, str) else value[-1] for name, value in parsed.query.items()
    }
    return ServerUrl(
        scheme=parsed.drivername.split("+", 1)[0],
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=None if parsed.password is None else str(parsed.password),
        database=parsed.database or None,
        query=query,
    )
