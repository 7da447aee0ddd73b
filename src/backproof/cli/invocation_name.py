"""How to call this very backproof again: the command a printed hint tells a person to run."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path


def command_to_run(argv0: str | None = None, search_path: str | None = None) -> str:
    """Return ``backproof`` when that name on PATH is this program, else a command that works.

    A checkout's ``.venv/bin/backproof`` is not on PATH: a hint saying ``backproof run`` would
    answer "command not found". ``python -m backproof`` is answered with this Python's path.
    """
    program = Path(argv0 if argv0 is not None else sys.argv[0])
    if program.name == "__main__.py":
        return f"{shlex.quote(sys.executable)} -m backproof"
    found = shutil.which("backproof", path=search_path)
    if found is not None and program.exists() and Path(found).resolve() == program.resolve():
        return "backproof"
    return shlex.quote(str(program.absolute()))
