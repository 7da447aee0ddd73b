"""The documents behind the pages, built once for the HTML and the ``/api/…`` JSON alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from backproof.assessment import HealthResult, assess_health
from backproof.errors import NotFoundError
from backproof.jobs.context import Context
from backproof.state.queue import JobQueueLog
from backproof.web.views.activities import ActivityFilters, ActivityPage, build_activity_page
from backproof.web.views.backup import BackupPage, build_backup_page
from backproof.web.views.overview import Overview, build_card, build_overview
from backproof.web.views.running import JobsView, RunningJob, fleet_queued, running_jobs
from backproof.web.views.target import TargetPage, build_target_page


class NextRuns(Protocol):
    """The scheduler's next run of each target."""

    def next_run_times(self) -> dict[str, datetime | None]:
        """Return the next scheduled run of each target."""
        ...


@dataclass
class Documents:
    """Builds each page's document from the audit trail, the health and the scheduler."""

    context: Context
    schedule: NextRuns | None = None
    jobs: JobsView | None = None

    def running(self, target: str | None = None) -> list[RunningJob]:
        """Return what is queued or running now (with a queue, also what waits for a worker)."""
        jobs = running_jobs(self.context.activities, self.jobs, target)
        if self.context.settings.queue.broker_url is None:
            return jobs
        return jobs + fleet_queued(JobQueueLog(self.context.activities.engine), target)

    def overview(self) -> Overview:
        """Return the document of ``/``."""
        return build_overview(
            self._assess(), self.context.clock(), self._next_runs(), self.running()
        )

    def target(self, name: str) -> TargetPage:
        """Return the document of ``/targets/<name>``; NotFoundError for an unknown target."""
        self.check_target(name)
        health = self._assess(name)
        verdict, figures = health.targets[0], health.figures[0]
        card = build_card(verdict, figures, self._next_runs().get(name), self.running(name))
        return build_target_page(
            self.context.activities, card, figures.restore_trend, self.context.clock()
        )

    def _assess(self, name: str | None = None) -> HealthResult:
        context = self.context
        return assess_health(context.settings, context.activities, context.clock(), name)

    def backup(self, name: str, backup_id: str) -> BackupPage:
        """Return the document of one backup; NotFoundError when no destination holds it."""
        self.check_target(name)
        return build_backup_page(self.context, name, backup_id)

    def activities(self, filters: ActivityFilters) -> ActivityPage:
        """Return one page of the audit trail."""
        return build_activity_page(
            self.context.activities, filters, self.context.clock(), self.running()
        )

    def target_names(self) -> list[str]:
        """Return the configured targets, in the config's order."""
        return [target.name for target in self.context.settings.targets]

    def check_target(self, name: str) -> None:
        """Raise NotFoundError unless ``name`` is a configured target."""
        if name not in self.target_names():
            raise NotFoundError(f"no target called {name!r}")

    def _next_runs(self) -> Mapping[str, datetime | None]:
        return self.schedule.next_run_times() if self.schedule is not None else {}
