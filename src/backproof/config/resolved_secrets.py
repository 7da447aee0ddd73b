"""A secret read once, when the configuration loads: its value, or why it could not be read.

Reading at load means every secret is known (and masked) before a command prints anything, and
each is read once per process. A command that never needs the secret never fails for it: a
password file unreadable on this host stops ``backup`` and ``verify`` (exit 2, one line naming
the file) but not ``list``, ``report``, ``health`` or the state's readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backproof.errors import ConfigError

# Where a secret was read from: its variable, its file, and the URL that may hold it.
SecretOrigin = tuple[str | None, Path | None, str | None]


@dataclass(frozen=True)
class ResolvedSecret:
    """A secret as the configuration load found it: ``value`` (None when none is configured),
    or ``problem``, the one line that says why it could not be read; ``origin`` says where it
    was read from (a section changed since is read again)."""

    origin: SecretOrigin
    value: str | None = None
    problem: str | None = None

    def reveal(self) -> str | None:
        """Return the secret (None when none is configured).

        Raises ConfigError with the problem when it could not be read.
        """
        if self.problem is not None:
            raise ConfigError([self.problem])
        return self.value
