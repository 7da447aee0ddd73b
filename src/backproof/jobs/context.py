"""What every job works with: the settings, the audit trail, the clock and the destinations."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from backproof.clock import utc_now
from backproof.config.models import Settings
from backproof.state.proofs import Proofs
from backproof.state.sqlite_reads import SQLiteProofReader
from backproof.storage.base import Storage
from backproof.storage.registry import open_storage

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from backproof.state.activities import Activity, ActivityLog

ProgressCallback = Callable[[str, int], None]
# A side effect after a run (alerts, a metrics push): called with the finished row, never by a
# job itself. The face that opens the context registers them; a failing hook is logged.
AfterRunHook = Callable[["Context", "Activity"], None]


@dataclass(frozen=True)
class ChainOutcome:
    """How one run of the chain (``backproof run``) of a target ended: whether every job of it
    ran and succeeded (the run's own outcome, not the health verdict), and one line per step."""

    target: str
    succeeded: bool
    summary: str


class ChainHook(Protocol):
    """A side effect around a run of the chain (a dead man's switch), registered by the face."""

    def chain_started(self, context: Context, target: str) -> None:
        """Say that a run of ``target`` begins; never raises."""
        ...

    def chain_finished(self, context: Context, outcome: ChainOutcome) -> None:
        """Say how the run ended; never raises."""
        ...


def _no_progress(_label: str, _size_bytes: int) -> None:
    """Progress is optional: jobs report bytes, the CLI decides whether to draw a bar."""


@dataclass
class Context:
    """The collaborators of a job; built once per command by ``open_context``.

    The audit trail opens (SQLAlchemy, the state database migrated) at its first use:
    ``open_context`` opens it at once, ``open_context(…, open_state_now=False)`` (`list`) only when
    ``proofs`` cannot read a SQLite state without it.
    """

    settings: Settings
    open_activities: Callable[[], ActivityLog]
    clock: Callable[[], datetime] = utc_now
    progress: ProgressCallback = _no_progress
    storages: dict[str, Storage] = field(default_factory=dict)
    after_run: list[AfterRunHook] = field(default_factory=list)
    around_chain: list[ChainHook] = field(default_factory=list)

    def storage(self, name: str | None = None) -> Storage:
        """Return the destination called ``name`` (the primary when None), opened once."""
        settings = self.settings.destination(name)
        if settings.name not in self.storages:
            self.storages[settings.name] = open_storage(settings)
        return self.storages[settings.name]

    def all_storages(self) -> dict[str, Storage]:
        """Return every destination, primary first."""
        return {item.name: self.storage(item.name) for item in self.settings.destinations}

    @cached_property
    def activities(self) -> ActivityLog:
        """Return the audit trail, opening the state database (migrated) at the first call."""
        return self.open_activities()

    def proofs(self, target: str, backup_ids: Iterable[str]) -> Proofs:
        """Return what the verifies of ``backup_ids`` of ``target`` found.

        Before the audit trail is opened, a SQLite state database at the newest schema is read
        with sqlite3 (``state/sqlite_reads.py``): SQLAlchemy's import was half of `list`'s
        start-up (issue 12).
        """
        if "activities" not in vars(self) and self._sqlite_proofs is not None:
            return self._sqlite_proofs.proofs(target, backup_ids)
        return self.activities.proofs(target, backup_ids)

    @cached_property
    def _sqlite_proofs(self) -> SQLiteProofReader | None:
        return SQLiteProofReader.open(self.settings.state.url)

    def close(self) -> None:
        """Close the state database's connections this context opened.

        SQLite folds its write-ahead log into the database file (and removes ``-wal``) when the
        last connection closes: a command leaves ``state.db`` whole, not for the interpreter's
        last garbage collections to close (which ``cli.main`` skips, issue 11).
        """
        if "activities" in vars(self):
            self.activities.engine.dispose()
        if "_sqlite_proofs" in vars(self) and self._sqlite_proofs is not None:
            self._sqlite_proofs.connection.close()

    @property
    def stale_after(self) -> timedelta:
        """Return how old a `running` row of another host must be to count as abandoned."""
        return timedelta(hours=self.settings.state.stale_after_hours)


def open_state(settings: Settings) -> Engine:
    """Return the state database engine, migrated."""
    from backproof.state.database import create_state_engine  # noqa: PLC0415 - SQLAlchemy

    return create_state_engine(settings.state.url, settings.state.lock_dir)


def open_context(
    settings: Settings,
    clock: Callable[[], datetime] = utc_now,
    after_run: list[AfterRunHook] | None = None,
    around_chain: list[ChainHook] | None = None,
    *,
    open_state_now: bool = True,
) -> Context:
    """Return a context on the configured state database, with the face's hooks: after each
    job's run, and around each run of the chain.

    The state database is opened (and migrated) now, unless ``open_state_now`` is False: then
    at the first use of ``activities``.
    """

    def open_activities() -> ActivityLog:
        from backproof.state.activities import ActivityLog  # noqa: PLC0415 - SQLAlchemy

        return ActivityLog(open_state(settings), clock)

    context = Context(settings, open_activities, clock)
    context.after_run.extend(after_run or [])
    context.around_chain.extend(around_chain or [])
    if open_state_now:
        _ = context.activities
    return context
