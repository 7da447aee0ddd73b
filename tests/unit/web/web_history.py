"""Helpers of the web tests: settings built in code and a history written through the real
ActivityLog at the times a scenario needs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from backproof.config.loading import resolve_paths
from backproof.config.models import Settings
from backproof.jobs.context import Context
from backproof.state.activities import Activity
from hand_clock import HandClock

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def make_settings(tmp_path: Path, **sections: Any) -> Settings:
    """Return settings with the state in ``tmp_path``, target ``crm``, two destinations; success
    rates are judged from the first run (the histories here are a few runs long)."""
    raw: dict[str, Any] = {
        "state": {"url": f"sqlite:///{tmp_path}/state.db", "lock_dir": "locks"},
        "health": {"min_runs": 1},
        "targets": [{"name": "crm", "database": "sqlite:///crm.db"}],
        "destinations": [
            {"name": "local", "url": "memory://web-tests-local"},
            {"name": "offsite", "url": "memory://web-tests-offsite"},
        ],
        **sections,
    }
    return resolve_paths(Settings.model_validate(raw), tmp_path)


def add_run(
    context: Context,
    clock: HandClock,
    job: str,
    status: str,
    started_at: datetime,
    *,
    target: str | None = "crm",
    meta: dict[str, Any] | None = None,
    backup_id: str | None = None,
    duration: timedelta = timedelta(seconds=30),
) -> Activity:
    """Record one finished run as the jobs do (start, then finish), at ``started_at``."""
    clock.now = started_at
    activity_id = context.activities.start(job, target)
    clock.now = started_at + duration
    finished = context.activities.finish(
        activity_id, status, f"{job} {status}", meta or {}, backup_id
    )
    clock.now = NOW
    return finished


def backup_id_at(moment: datetime) -> str:
    """Return a backup id of ``moment``."""
    return moment.strftime("%Y%m%dT%H%M%SZ") + "-abc123"


def add_good_day(context: Context, clock: HandClock, day_start: datetime) -> str:
    """Record one healthy chain starting at ``day_start``; return its backup id."""
    backup_id = backup_id_at(day_start)
    add_run(
        context,
        clock,
        "backup",
        "success",
        day_start,
        meta={
            "size_bytes": 2000,
            "db_raw_size_bytes": 5000,
            "destinations": ["local", "offsite"],
            "failed_destinations": [],
        },
        backup_id=backup_id,
    )
    add_run(
        context,
        clock,
        "cleanup",
        "success",
        day_start + timedelta(minutes=1),
        meta={"stored": {"local": {"backups": 3, "size_bytes": 6000}}},
    )
    add_run(
        context,
        clock,
        "verify",
        "success",
        day_start + timedelta(minutes=2),
        meta={"restore_duration_seconds": 12.5},
        backup_id=backup_id,
        duration=timedelta(seconds=20),
    )
    add_run(context, clock, "report", "success", day_start + timedelta(minutes=3), target=None)
    add_run(context, clock, "health", "success", day_start + timedelta(minutes=4))
    return backup_id


class AppClient:
    """Calls an ASGI app in-process through httpx (what starlette's TestClient wraps)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """Return the app's answer to ``GET path``."""

        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.get(path, headers=headers)

        return asyncio.run(call())
