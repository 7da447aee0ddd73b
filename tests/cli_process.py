"""Running the backproof CLI as a user runs it: a subprocess, without backproof's own overrides.

Shared by the root fixtures and the engine tests (``tests`` is on pytest's ``pythonpath``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def clean_environment() -> dict[str, str]:
    """Return the environment without backproof's own overrides, as a new user has it."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("BACKPROOF_") and name != "ALERT_SLACK_WEBHOOK"
    }


def run_backproof(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``backproof ARGS…`` in ``cwd``; return the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "backproof", *args],
        cwd=cwd,
        env=clean_environment() | (env or {}),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
