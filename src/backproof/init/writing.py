"""``init`` from start to end: read the application, connect, decide, write the config.

Nothing is written until every check passed: the application declares a database, the
database answers, the destination is outside any git work tree and the rendered config loads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from backproof.config.git_worktree import enclosing_git_work_tree
from backproof.config.loading import load_settings
from backproof.errors import UsageError
from backproof.init.config_text import ConfigPlan, render_config
from backproof.init.detect import AppDatabase, detect_application
from backproof.init.tables import list_table_sizes, propose_key_tables
from backproof.privacy import make_private_dir, open_private_file
from backproof.sources.base import TableSize

Ask = Callable[[str, str], str]
"""Asks a person: (question, proposed answer) -> answer. None in ``--non-interactive``."""
LARGEST_SHOWN = 5


@dataclass
class InitRequest:
    """What the user asked of ``init`` (flags; None: decide from the application)."""

    app_folder: Path
    config_path: Path
    name: str | None = None
    database_url: str | None = None
    password_env: str | None = None
    destination: Path | None = None
    data_folder: Path | None = None
    force: bool = False
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass(frozen=True)
class InitResult:
    """What ``init`` wrote."""

    config_path: Path
    framework: str
    password_file: Path | None
    key_tables: list[str]
    tables: list[TableSize]


def run_init(request: InitRequest, ask: Ask | None) -> InitResult:
    """Write a config for the application of ``request``; return what was written.

    Raises UsageError (nothing written) when the config exists without ``force``, nothing
    declares a database, or the destination is in a git work tree; SourceError when the
    database does not answer.
    """
    if request.config_path.exists() and not request.force:
        raise UsageError(f"{request.config_path} exists; pass --force to replace it")
    app = _application(request)
    password = app.password if request.password_env is None else None
    tables = list_table_sizes(app.url, password or _from_env(app, request))
    data_folder = request.data_folder or default_data_folder(request.environ)
    destination = request.destination or data_folder / "backups"
    key_tables = propose_key_tables(tables)
    if ask is not None:
        destination = Path(ask("Folder for the backups", str(destination))).expanduser()
        answer = ask("Key tables (comma-separated, empty for none)", ", ".join(key_tables))
        key_tables = [name.strip() for name in answer.split(",") if name.strip()]
    refuse_git_work_tree(destination.absolute())
    name = request.name or _name_of(request.app_folder)
    keeps_password = password is not None and request.password_env is None
    password_file = _password_path(request, name) if keeps_password else None
    plan = ConfigPlan(
        framework=app.framework,
        app_folder=request.app_folder,
        name=name,
        database_url=app.url,
        password_file=password_file,
        password_env=request.password_env or app.password_env,
        files=app.files,
        key_tables=key_tables,
        largest_tables=[
            (table.name, table.rows, table.size_bytes) for table in tables[:LARGEST_SHOWN]
        ],
        destination_url=f"file://{destination.absolute()}",
        data_folder=data_folder.absolute(),
    )
    _write_checked(request.config_path, render_config(plan), password_file, password)
    return InitResult(request.config_path, app.framework, password_file, key_tables, tables)


def default_data_folder(environ: dict[str, str]) -> Path:
    """Return where state, locks, reports and local backups go: ``/var/lib/backproof`` for
    root, else ``$XDG_DATA_HOME/backproof`` (``~/.local/share/backproof``)."""
    if os.geteuid() == 0:
        return Path("/var/lib/backproof")
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "backproof"


def refuse_git_work_tree(folder: Path) -> None:
    """Raise UsageError when ``folder`` lies in a git work tree (backups would be committed)."""
    work_tree = enclosing_git_work_tree(folder)
    if work_tree is not None:
        raise UsageError(
            f"{folder} is inside the git work tree {work_tree}: backups there get committed "
            "and pushed; choose a folder outside it (--destination)"
        )


def _application(request: InitRequest) -> AppDatabase:
    if request.database_url is None:
        return detect_application(request.app_folder, request.environ)
    from backproof.init.detect import from_database_url  # noqa: PLC0415

    app = from_database_url(request.app_folder, request.database_url)
    return AppDatabase("--database", app.url, app.password, files=app.files)


def _from_env(app: AppDatabase, request: InitRequest) -> str | None:
    variable = request.password_env or app.password_env
    return request.environ.get(variable) if variable else None


def _name_of(folder: Path) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "-", folder.absolute().name.lower()).strip("-_")
    return (name or "app")[:40]


def _password_path(request: InitRequest, name: str) -> Path:
    return request.config_path.absolute().parent / "secrets" / f"{name}.password"


def _write_checked(path: Path, text: str, password_file: Path | None, password: str | None) -> None:
    """Write ``text`` to ``path`` only once it loads as a valid config (ConfigError otherwise),
    and the password, if any, to its private file (0600 in a 0700 folder) just before."""
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # /etc/backproof on a new server
        partial.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the config in {path.parent}: {exc.strerror}") from exc
    try:
        load_settings(partial, environ={})
        if password_file is not None and password is not None:
            make_private_dir(password_file.parent)
            with os.fdopen(open_private_file(password_file), "w", encoding="utf-8") as stream:
                stream.write(password + "\n")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
