"""Where verify makes the temporary databases of a target, and the leftovers dropped there.

``verify.url`` names the scratch server (with ``verify.password_env``/``password_file``); without
it, the target's database says: its own server for PostgreSQL and MariaDB, a private folder of
backproof's state for SQLite (``DatabaseSource.scratch_server``).
"""

from __future__ import annotations

from backproof.config.models import Settings, TargetSettings
from backproof.config.secrets import database_password, verify_password
from backproof.errors import ConfigError
from backproof.jobs.context import Context
from backproof.sources.base import ScratchServer
from backproof.sources.registry import open_database, open_server


def open_scratch_server(
    settings: Settings, target: TargetSettings, *, with_password: bool = True
) -> ScratchServer:
    """Return where verify makes the temporary databases of ``target``, with the password of
    ``verify.url`` or of the target's database (none read when ``with_password`` is False: the
    server is then only asked where it is).

    Raises ConfigError when neither ``verify.url`` nor the target's database is set.
    """
    verify = settings.verify
    if verify.url is not None and verify.url != target.database:
        password = verify_password(verify) if with_password else None
        return open_server(verify.url, password)
    if target.database is None:
        raise ConfigError([f"target {target.name!r} has no database to verify"])
    index = settings.targets.index(target)
    password = database_password(target, index) if with_password else None
    if verify.url is not None:
        return open_server(verify.url, password)
    database = open_database(target.database, password)
    return database.scratch_server(settings.state.lock_dir.parent)


def drop_leftover_scratches(context: Context, target: TargetSettings) -> list[str]:
    """Drop the temporary databases a crashed verify of ``target`` left; return their names.

    The service calls this at start-up. Raises SourceError when the server cannot be reached.
    """
    if context.settings.verify.url is None and target.database is None:
        return []
    return open_scratch_server(context.settings, target).drop_leftover_scratches()
