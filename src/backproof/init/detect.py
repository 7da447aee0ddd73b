"""What an application declares about its database and files: Laravel's ``.env``, Django's or
Heroku's ``DATABASE_URL``, Rails' ``config/database.yml``.

Each reader returns an ``AppDatabase``: a URL without its password, the password (or the
variable that holds it) kept apart so that it never reaches the config, and the folders of
uploaded files the framework keeps.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from backproof.config.models import normalize_url_scheme
from backproof.errors import UsageError

ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
ERB_ENV = re.compile(r"""<%=\s*ENV(?:\.fetch\(|\[)\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""")
LARAVEL_SCHEMES = {"pgsql": "postgresql", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite"}
RAILS_SCHEMES = {"postgresql": "postgresql", "mysql2": "mysql", "trilogy": "mysql"}


@dataclass
class AppDatabase:
    """The database (and files) of an application, the password kept out of the URL."""

    framework: str
    url: str
    password: str | None = field(default=None, repr=False)
    password_env: str | None = None
    files: list[Path] = field(default_factory=list)


def read_env_file(path: Path) -> dict[str, str]:
    """Return the ``KEY=value`` lines of a dotenv file (quotes removed, comments skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = ENV_LINE.match(line)
        if match is None or line.lstrip().startswith("#"):
            continue
        raw = match.group(2)
        if raw[:1] in "\"'" and raw[-1:] == raw[:1] and len(raw) >= 2:
            values[match.group(1)] = raw[1:-1]
        else:
            values[match.group(1)] = raw.split(" #", 1)[0].strip()
    return values


def detect_application(folder: Path, environ: Mapping[str, str] = os.environ) -> AppDatabase:
    """Return what the application in ``folder`` declares; UsageError when nothing is found."""
    dotenv = read_env_file(folder / ".env") if (folder / ".env").is_file() else {}
    if "DB_CONNECTION" in dotenv:
        return from_laravel(folder, dotenv)
    database_url = environ.get("DATABASE_URL") or dotenv.get("DATABASE_URL")
    if database_url:
        return from_database_url(folder, database_url)
    if (folder / "config" / "database.yml").is_file():
        return from_rails(folder, environ.get("RAILS_ENV", "production"))
    raise UsageError(
        f"found no database in {folder}: no .env with DB_CONNECTION (Laravel), no DATABASE_URL "
        "(Django, Heroku), no config/database.yml (Rails); pass --database URL"
    )


def from_laravel(folder: Path, env: Mapping[str, str]) -> AppDatabase:
    """Return the database of a Laravel ``.env``; uploads are ``storage/app``."""
    connection = env["DB_CONNECTION"]
    scheme = LARAVEL_SCHEMES.get(connection)
    if scheme is None:
        raise UsageError(f"DB_CONNECTION={connection} in {folder / '.env'} is not supported")
    files = [folder / "storage" / "app"] if (folder / "storage" / "app").is_dir() else []
    if scheme == "sqlite":
        path = Path(env.get("DB_DATABASE") or "database/database.sqlite")
        return AppDatabase("Laravel", f"sqlite:///{folder / path}", files=files)
    url = server_url(
        scheme, env.get("DB_USERNAME"), env.get("DB_HOST"), env.get("DB_PORT"), env["DB_DATABASE"]
    )
    return AppDatabase("Laravel", url, env.get("DB_PASSWORD") or None, files=files)


def from_database_url(folder: Path, database_url: str) -> AppDatabase:
    """Return the database of a ``DATABASE_URL``; uploads are ``media`` when it exists."""
    parts = urlsplit(normalize_url_scheme(database_url))
    scheme = {"postgresql": "postgresql", "mysql": "mysql", "mysql2": "mysql"}.get(
        parts.scheme.split("+", 1)[0], parts.scheme
    )
    if scheme == "sqlite":
        return AppDatabase("DATABASE_URL", database_url, files=_existing(folder, "media"))
    host = parts.hostname or ""
    netloc = (quote(unquote(parts.username), safe="") + "@" if parts.username else "") + host
    netloc += f":{parts.port}" if parts.port else ""
    url = urlunsplit((scheme, netloc, parts.path, parts.query, ""))
    password = unquote(parts.password) if parts.password else None
    return AppDatabase("DATABASE_URL", url, password, files=_existing(folder, "media"))


def from_rails(folder: Path, environment: str) -> AppDatabase:
    """Return the database of Rails' ``config/database.yml`` (``environment``, else development)."""
    import yaml  # noqa: PLC0415 - only init reads YAML

    path = folder / "config" / "database.yml"
    document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    section = document.get(environment) or document.get("development")
    if not isinstance(section, dict):
        raise UsageError(f"{path} has no {environment} or development section")
    section = section.get("primary", section)  # Rails 6+ multi-database layout
    adapter = str(section.get("adapter", ""))
    files = _existing(folder, "storage")
    if adapter.startswith("sqlite"):
        return AppDatabase("Rails", f"sqlite:///{folder / str(section['database'])}", files=files)
    scheme = RAILS_SCHEMES.get(adapter)
    if scheme is None:
        raise UsageError(f"adapter {adapter!r} in {path} is not supported")
    port = section.get("port")
    url = server_url(
        scheme,
        section.get("username"),
        section.get("host"),
        str(port) if port else None,
        str(section["database"]),
    )
    password = section.get("password")
    text = str(password) if password is not None else ""
    variable = ERB_ENV.search(text)
    if variable is not None:
        return AppDatabase("Rails", url, password_env=variable.group(1), files=files)
    return AppDatabase("Rails", url, text or None, files=files)


def server_url(
    scheme: str, user: str | None, host: str | None, port: str | None, database: str
) -> str:
    """Return ``scheme://user@host:port/database`` without a password."""
    netloc = (quote(user, safe="") + "@" if user else "") + (host or "localhost")
    netloc += f":{port}" if port else ""
    return f"{scheme}://{netloc}/{quote(database, safe='')}"


def _existing(folder: Path, name: str) -> list[Path]:
    return [folder / name] if (folder / name).is_dir() else []
