"""Helpers of the alert unit tests: a hand-moved clock, twins of Slack and e-mail, settings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backproof.alerts.memory import MemoryChannel
from backproof.alerts.registry import ChannelSet
from backproof.config.loading import resolve_paths
from backproof.config.models import Settings
from backproof.jobs.context import Context
from backproof.state.activities import Activity

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


class Twins:
    """A Slack twin as primary and an e-mail twin as fallback."""

    def __init__(self) -> None:
        self.slack = MemoryChannel("slack")
        self.email = MemoryChannel("email")
        self.channels = ChannelSet(primary=(self.slack,), fallback=(self.email,))


def make_settings(tmp_path: Path, **alerts: Any) -> Settings:
    raw: dict[str, Any] = {
        "state": {"url": f"sqlite:///{tmp_path}/state.db", "lock_dir": "locks"},
        "targets": [{"name": "crm", "database": "sqlite:///app.db"}],
        "destinations": [{"name": "memory", "url": "memory://alert-tests"}],
        "alerts": alerts,
    }
    return resolve_paths(Settings.model_validate(raw), tmp_path)


def finished(context: Context, job: str, status: str, message: str = "") -> Activity:
    """Record a finished run of ``job`` on crm, as the job would have."""
    return context.activities.record(job, "crm", status, message or f"{job} {status}")
