"""The result of ``doctor``: one line per check (✓ ok, ! warning, ✗ failed), and the run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from backproof.config.models import Settings
from backproof.errors import BackproofError

DoctorStatus = Literal["ok", "warning", "failed"]
MARKS: dict[str, str] = {"ok": "✓", "warning": "!", "failed": "✗"}


@dataclass(frozen=True)
class DoctorCheck:
    """One thing checked, its verdict and what to do about it."""

    name: str
    status: DoctorStatus
    message: str

    def line(self) -> str:
        """Return the line ``doctor`` prints: ``✓ name: message``."""
        return f"{MARKS[self.status]} {self.name}: {self.message}"

    def to_json(self) -> dict[str, str]:
        """Return the object of ``doctor --json``."""
        return {"name": self.name, "status": self.status, "message": self.message}


def ok(name: str, message: str) -> DoctorCheck:
    """Return a passed check."""
    return DoctorCheck(name, "ok", message)


def warning(name: str, message: str) -> DoctorCheck:
    """Return a check that passed with something to look at."""
    return DoctorCheck(name, "warning", message)


def failed(name: str, message: str) -> DoctorCheck:
    """Return a failed check."""
    return DoctorCheck(name, "failed", message)


@dataclass(frozen=True)
class DoctorResult:
    """Every check, in the order they ran."""

    checks: tuple[DoctorCheck, ...]

    @property
    def has_failed(self) -> bool:
        """Return True when a check failed (``doctor`` exits 1)."""
        return any(check.status == "failed" for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        """Return the document of ``doctor --json``."""
        return {"ok": not self.has_failed, "checks": [check.to_json() for check in self.checks]}


CheckGroup = Callable[[Settings, datetime], Iterator[DoctorCheck]]


def guarded(name: str, group: CheckGroup, settings: Settings, now: datetime) -> list[DoctorCheck]:
    """Run a group of checks; an error it raises is its failed check, never a crash."""
    try:
        return list(group(settings, now))
    except BackproofError as exc:
        return [failed(name, " ".join(str(exc).split()))]
