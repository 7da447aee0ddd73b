"""What one subprocess stage is, and how secrets are kept out of everything said about it.

A :class:`Command` is pure data: built by the sources and archive code, run only by
:mod:`backproof.process.pipeline`. Passwords reach tools through ``env`` (or a private options
file), never through ``argv``; whatever a tool may still echo is listed in ``secrets`` so that
:func:`mask` removes it from error messages.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

MASK = "***"

# scheme://user:password@ -> scheme://user:***@ ; the password cannot hold "@" or blanks, so a
# match never runs past the first "@" of a URL.
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*):[^\s@]*@")

# Environment variables whose values are secrets even if the caller forgot to list them
# (PGPASSWORD, MYSQL_PWD, AWS_SECRET_ACCESS_KEY, ...).
_SECRET_ENV_NAME = re.compile(r"PASS|PWD|SECRET|TOKEN|(?:^|_)KEY(?:$|_)", re.IGNORECASE)


@dataclass(frozen=True)
class Command:
    """One stage: argv list (never a shell string), extra environment, secrets to mask.

    ``env`` is merged over ``os.environ`` when the stage starts. ``secrets`` are replaced by
    ``***`` in every message about any stage of the pipeline (argv and stderr tails), as are
    passwords written inside URLs and the values of secret-looking variables of ``env``.

    ``progress``, when set, is shown each line the stage writes to stderr as it comes (a
    tool's progress, e.g. ``pg_restore --verbose``); a line it returns True for is taken as
    progress and kept out of the stderr tail that describes a failure.

    Raises TypeError when ``argv`` is a string, ValueError when it is empty.
    """

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    cwd: str | None = None
    progress: Callable[[bytes], bool] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.argv, str):
            raise TypeError(f"{self.name}: argv must be a sequence of arguments, not a string")
        if not self.argv:
            raise ValueError(f"{self.name}: argv is empty")
        # Callers may pass lists; keep the dataclass immutable and hashable-minded.
        object.__setattr__(self, "argv", tuple(self.argv))
        object.__setattr__(self, "secrets", tuple(self.secrets))

    @property
    def masked_values(self) -> tuple[str, ...]:
        """The explicit secrets plus the values of secret-looking ``env`` variables."""
        from_env = tuple(
            value for name, value in self.env.items() if value and _SECRET_ENV_NAME.search(name)
        )
        return self.secrets + from_env

    def describe_argv(self, secrets: Iterable[str] = ()) -> str:
        """Return the argv as a shell-quoted line, each argument masked before quoting."""
        hidden = (*self.masked_values, *secrets)
        return " ".join(_quote(mask(argument, hidden)) for argument in self.argv)


def with_output_buffer(command: Command) -> Command:
    """Return ``command`` writing its standard output 1 MiB at a time (coreutils' ``stdbuf``),
    or as it is where ``stdbuf`` or the tool is not on PATH (the tool's own absence is then
    said as before). The dump tools write through stdio, whose buffer is 4 KiB on a pipe:
    about 250,000 writes per GB, each waking the reader (1-2 s of system CPU per GB between
    the two sides). ``stdbuf`` execs the tool: same process, same exit status."""
    stdbuf = shutil.which("stdbuf")
    tool = shutil.which(command.argv[0])
    if stdbuf is None or tool is None:
        return command
    return replace(command, argv=(stdbuf, "--output=1M", tool, *command.argv[1:]))


def mask(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with each secret, and the password of each URL, replaced by ``***``.

    Longer secrets are replaced first, so a secret containing another one disappears whole.
    Empty secrets are ignored.
    """
    for secret in sorted({secret for secret in secrets if secret}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _URL_PASSWORD.sub(lambda match: f"{match.group('head')}:{MASK}@", text)


def _quote(argument: str) -> str:
    """Quote like shlex, but leave the mask readable (``***`` instead of ``'***'``)."""
    if argument and re.fullmatch(r"[\w@%+=:,./*-]+", argument):
        return argument
    return "'" + argument.replace("'", "'\"'\"'") + "'"
