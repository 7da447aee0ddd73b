"""What the end-to-end tests do as a user: run backproof in the demo folder and read its output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from backproof.config.loading import load_settings
from backproof.demo import DemoLayout
from backproof.state.activities import ActivityLog
from backproof.state.database import create_state_engine
from cli_process import clean_environment

BACKUP_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
WAIT_SECONDS = 30


@dataclass
class User:
    """Runs backproof in the demo folder and reads what a user reads."""

    demo: DemoLayout
    run: Callable[..., subprocess.CompletedProcess[str]]

    def ok(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run a command that must succeed; return its stdout."""
        process = self.run(*args, env=env)
        assert process.returncode == 0, (args, process.stdout, process.stderr)
        return process.stdout

    def json(self, *args: str, env: dict[str, str] | None = None) -> Any:
        """Run a ``--json`` command that must succeed; return the document."""
        return json.loads(self.ok(*args, "--json", env=env))

    def backup(self, env: dict[str, str] | None = None) -> str:
        """Run ``backup``; return the id it printed."""
        backup_id = self.ok("backup", env=env).strip()
        assert BACKUP_ID.match(backup_id), backup_id
        return backup_id

    def activities(self, job: str | None = None) -> list[dict[str, Any]]:
        """Return ``activities --json``: the audit trail, newest first."""
        args = ("activities", "--job", job) if job else ("activities",)
        return list(self.json(*args)["activities"])

    def audit_rows(self, job: str) -> list[dict[str, Any]]:
        """Return the audit rows of ``job``, newest first, read straight from the state database
        (as ``activities --json`` shows them, without starting another process)."""
        settings = load_settings(self.demo.config, environ={})
        engine = create_state_engine(settings.state.url, settings.state.lock_dir)
        try:
            return [row.to_json() for row in ActivityLog(engine).find(job=job)]
        finally:
            engine.dispose()

    def spawn(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start ``backproof ARGS…`` in the demo folder without waiting for it; its temporary
        files go to the demo folder's ``tmp``, so that what a process the test kills leaves
        there goes with the test's folder."""
        temporary = self.demo.folder / "tmp"
        temporary.mkdir(exist_ok=True)
        return subprocess.Popen(
            cli_argv(*args),
            cwd=self.demo.folder,
            env=clean_environment() | {"TMPDIR": str(temporary)} | (env or {}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @property
    def backups(self) -> Path:
        """Return the folder of the demo's local destination."""
        return self.demo.folder / "backups"

    def part(self, backup_id: str, name: str) -> Path:
        """Return the stored file of a part."""
        return self.backups / "crm" / backup_id / name


def cli_argv(*args: str) -> list[str]:
    """Return the argv of ``backproof ARGS…`` run with this Python."""
    return [sys.executable, "-m", "backproof", *args]


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition`` holds (polling, never a fixed sleep); fail naming ``what``."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {WAIT_SECONDS} s for {what}")
        time.sleep(0.02)
