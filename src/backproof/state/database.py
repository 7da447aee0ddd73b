"""Opening the state database: URL translation, private SQLite files, automatic migrations.

``SCHEMA_HEAD`` and the private SQLite file are in ``sqlite_reads.py``, which loads no
SQLAlchemy (`list` reads a SQLite state there, issue 12).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from backproof.errors import ConfigError, OperationError
from backproof.privacy import make_private_dir
from backproof.state.sqlite_reads import SCHEMA_HEAD, prepare_sqlite_file

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql", "mariadb": "mysql+pymysql"}


def to_sqlalchemy_url(url: str, password: str | None = None) -> sa.URL:
    """Translate a backproof database URL to SQLAlchemy's, choosing the driver we ship."""
    parsed = make_url(url)
    driver = DRIVERS.get(parsed.drivername, parsed.drivername)
    parsed = parsed.set(drivername=driver)
    if driver.startswith("mysql"):
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    if password is not None:
        parsed = parsed.set(password=password)
    return parsed


def create_state_engine(url: str, lock_dir: Path) -> Engine:
    """Return an engine on the state database with the schema migrated to the newest revision.

    Raises ConfigError when the URL cannot be used and OperationError when the server refuses.
    """
    try:
        sqlalchemy_url = to_sqlalchemy_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError([f"at state.url: {exc}"]) from exc
    options: dict[str, Any] = {"pool_pre_ping": True}
    if sqlalchemy_url.get_backend_name() == "sqlite":
        prepare_sqlite_file(sqlalchemy_url.database)
        options = {"connect_args": {"timeout": 30}}
    engine = sa.create_engine(sqlalchemy_url, **options)
    if sqlalchemy_url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _configure_sqlite_connection)
    try:
        upgrade_schema(engine, lock_dir)
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        raise OperationError(f"cannot open the state database {engine.url!r}: {reason}") from exc
    return engine


def upgrade_schema(engine: Engine, lock_dir: Path) -> None:
    """Apply pending migrations, one process at a time."""
    if current_revision(engine) == SCHEMA_HEAD:
        return
    from alembic import command  # noqa: PLC0415 - loaded only when a migration is due
    from alembic.config import Config  # noqa: PLC0415
    from filelock import FileLock  # noqa: PLC0415 - it loads asyncio

    make_private_dir(lock_dir)
    lock = FileLock(str(lock_dir / "state-migrations.lock"), timeout=120, mode=0o600)
    with lock, engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    """Return the schema revision recorded in the database, None when it has none yet."""
    if not sa.inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as connection:
        revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return None if revision is None else str(revision)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
