"""The exception tree of backproof, and the exit code of each branch.

    BackproofError                  base; ``exit_code`` tells the CLI what to return
    ├── UsageError                  2: the command line is wrong; nothing was run
    ├── ConfigError                 2: the config file or environment is wrong; nothing was run
    └── OperationError              1: a job ran and failed; an activity says why
        ├── SourceError             the database or files could not be dumped or read
        ├── PipelineError           a subprocess stage failed (names every stage)
        ├── HookError               a hook command around a backup failed
        ├── StorageError            a destination refused a read, write, list or delete
        │   └── StorageFullError    no space left on the destination
        ├── IntegrityError          a part or manifest does not match its checksum or MAC
        ├── VerificationError       a restored backup differs from the facts of its dump
        ├── RestoreError            a restore could not be completed or was refused
        ├── NotFoundError           no such backup, target or destination
        └── LockTimeoutError        another run of the same job and target held the lock

Foreign exceptions (OSError, botocore, SQLAlchemy, subprocess) are translated at the boundary
where they happen, with ``raise ... from exc``, so the CLI maps one tree to exit codes.
"""

from __future__ import annotations


class BackproofError(Exception):
    """Base of every error backproof raises on purpose."""

    exit_code = 1


class UsageError(BackproofError):
    """The command line asks for something impossible."""

    exit_code = 2


class ConfigError(BackproofError):
    """The configuration is invalid; the message lists every problem as ``at path: message``."""

    exit_code = 2

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(where + "; ".join(problems))


class OperationError(BackproofError):
    """A job ran and failed."""

    exit_code = 1


class SourceError(OperationError):
    """The source database or files could not be dumped, read or restored."""


class StreamStoppedError(SourceError):
    """One stream of a dump in two was stopped: the other failed, or the backup stopped."""


class PipelineError(OperationError):
    """A stage of a subprocess pipeline failed; ``stages`` describes every stage."""

    def __init__(self, message: str, stages: list[str] | None = None) -> None:
        self.stages = stages or []
        super().__init__(message)


class HookError(OperationError):
    """A hook command around a backup failed, timed out or could not be started."""


class StorageError(OperationError):
    """A destination refused an operation."""


class StorageFullError(StorageError):
    """The destination ran out of space."""


class IntegrityError(OperationError):
    """Stored data does not match the checksums or the authentication of its manifest."""


class VerificationError(OperationError):
    """A restore differs from the facts recorded while dumping."""


class RestoreError(OperationError):
    """A restore was refused or failed."""


class NotFoundError(OperationError):
    """A named backup, target or destination does not exist."""


class LockTimeoutError(OperationError):
    """Another run of the same job on the same target kept the lock past the wait."""
