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


ONE_TARGET_CONFIG = """\
[state]
url = "sqlite:///state/state.db"

[[targets]]
name = "bptest"
database = "{database}"
key_tables = ["companies", "contacts"]

[[destinations]]
name = "local"
url = "file:backups"
{extra}"""


def write_one_target_config(folder: Path, database: str, extra: str = "") -> Path:
    """Write ``backproof.toml`` for one target ``bptest`` on ``database`` backed up to a local
    folder (``extra`` appended); return its path."""
    config = folder / "backproof.toml"
    config.write_text(ONE_TARGET_CONFIG.format(database=database, extra=extra), encoding="utf-8")
    return config


def run_with_config(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``backproof --config CONFIG ARGS…`` in the config's folder, as a user does."""
    return run_backproof("--config", str(config), *args, cwd=config.parent, timeout=120)
