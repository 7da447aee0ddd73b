"""The pattern of a database URL as SQLAlchemy reads one (``sqlalchemy.engine.url._parse_url``,
version 2), without importing SQLAlchemy: the settings and a backup's early dump read URLs
before the state database's library is loaded (``sources.server_urls`` parses server URLs with
it, ``config.secrets`` reads the password a URL holds). A test keeps both readings equal.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

URL_PATTERN = re.compile(
    r"""
    (?P<name>[\w\+]+)://
    (?:
        (?P<username>[^:/]*)
        (?::(?P<password>[^@]*))?
    @)?
    (?:
        (?:
            \[(?P<ipv6host>[^/\?]+)\] |
            (?P<ipv4host>[^/:\?]+)
        )?
        (?::(?P<port>[^/\?]*))?
    )?
    (?:/(?P<database>[^\?]*))?
    (?:\?(?P<query>.*))?
    """,
    re.VERBOSE,
)


def password_in_url(url: str) -> str | None:
    """Return the password written in ``url`` as SQLAlchemy reads it (None: none written).

    Raises ValueError where SQLAlchemy would raise (a URL it cannot read, a port not a number).
    """
    matched = URL_PATTERN.match(url)
    port = matched["port"] if matched else None
    if matched is None or (port and not port.isdigit()):
        raise ValueError("not a URL SQLAlchemy reads")
    password = matched["password"]
    return None if password is None else unquote(password)
