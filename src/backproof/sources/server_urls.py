"""Database server URLs of the server engines: parsed once, rendered without their password.

``postgresql://user[:password]@host:port/database?option=value`` and the same for ``mysql://``
and ``mariadb://``. The password of a URL is only a fallback: the source's explicit password
(from ``password_env`` or ``password_file``) wins, and neither is ever rendered back.

They are read as SQLAlchemy reads a URL (the same pattern, percent-decoding and query), without
importing it: a backup's dump starts before the state database's library is loaded
(``jobs.early_dump``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, quote, unquote, urlencode

from backproof.config.url_pattern import URL_PATTERN
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
    matched = URL_PATTERN.match(url)
    port = matched["port"] if matched else None
    if matched is None or (port is not None and not port.isdigit()):
        raise ConfigError([f"invalid database URL {mask_url(url)!r}: cannot parse it"])
    # A name given twice in the query keeps its last value.
    query = dict(parse_qsl(matched["query"] or ""))
    password = matched["password"]
    return ServerUrl(
        scheme=matched["name"].split("+", 1)[0],
        host=matched["ipv4host"] or matched["ipv6host"],
        port=int(port) if port else None,
        user=unquote(matched["username"]) if matched["username"] is not None else None,
        password=None if password is None else unquote(password),
        database=unquote(matched["database"] or "") or None,
        query=query,
    )
