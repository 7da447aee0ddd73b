"""Prometheus metrics, computed at scrape time from the same figures as health and the report.

Declared once, on a registry of their own (never the global one), through prometheus_client.
A figure that is not known yet (no backup, no verify) is left out rather than reported as 0,
so that ``absent()`` alerts see it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from backproof.archive.manifest import parse_backup_time
from backproof.assessment import assess_health
from backproof.health import SEVERITY
from backproof.jobs.context import Context
from backproof.state.activities import Activity, ActivityLog
from backproof.state.records import CleanupMeta
from backproof.state.trail_queries import backups_by_destinations
from backproof.status import FINISHED, TargetFigures


def _minutes(value: float | None) -> float | None:
    return None if value is None else value * 60


METRICS: tuple[tuple[str, str, Callable[[TargetFigures], float | None]], ...] = (
    (
        "last_db_dump_age_minutes",
        "Minutes since the newest valid backup finished.",
        lambda figures: _minutes(figures.newest_backup_age_hours),
    ),
    (
        "last_verify_restore_age_hours",
        "Hours since a verify restore last passed.",
        lambda figures: figures.last_verify_age_hours,
    ),
    (
        "backup_success_rate_7d",
        "Ratio (0..1) of successful backups over the health window.",
        lambda figures: figures.backup_success_rate,
    ),
    (
        "verify_success_rate_7d",
        "Ratio (0..1) of passed verifies over the health window.",
        lambda figures: figures.verify_success_rate,
    ),
    (
        "restore_duration_seconds_last",
        "Seconds the last passed verify took to restore.",
        lambda figures: figures.restore_duration_seconds_last,
    ),
    (
        "last_backup_size_bytes",
        "Stored size of the newest valid backup.",
        lambda figures: figures.newest_backup_size_bytes,
    ),
    (
        "verify_consecutive_failures",
        "Verifies failed in a row, most recent first.",
        lambda figures: figures.consecutive_verify_failures,
    ),
)


class OpsCollector(Collector):
    """Computes every metric from the state database when Prometheus scrapes."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.prefix = context.settings.metrics.prefix

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families with one sample per target."""
        health = assess_health(self.context.settings, self.context.activities, self.context.clock())
        for name, documentation, read in METRICS:
            family = GaugeMetricFamily(self.prefix + name, documentation, labels=["target"])
            for figures in health.figures:
                value = read(figures)
                if value is not None:
                    family.add_metric([figures.target], float(value))
            yield family
        status = GaugeMetricFamily(
            self.prefix + "health_status",
            "Health verdict per target: 1 for the current status, 0 for the others.",
            labels=["target", "status"],
        )
        for verdict in health.targets:
            for name in SEVERITY:
                status.add_metric([verdict.target, name], 1.0 if verdict.status == name else 0.0)
        yield status
        yield from collect_service_metrics(self.context, self.prefix, health.figures)
        if self.context.settings.queue.broker_url is not None:
            # The fleet (issue 15): imported only when configured; reads no more rows per scrape
            # than there are unfinished jobs and live workers.
            from backproof.queue_status import collect_fleet_metrics  # noqa: PLC0415
            from backproof.state.queue import JobQueueLog  # noqa: PLC0415

            log = JobQueueLog(self.context.activities.engine)
            yield from collect_fleet_metrics(log, self.prefix, self.context.clock())


def build_registry(context: Context) -> CollectorRegistry:
    """Return a registry of backproof's metrics for ``context``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OpsCollector(context))
    return registry


def render_metrics(context: Context) -> bytes:
    """Return the metrics in Prometheus text format."""
    return generate_latest(build_registry(context))


# --- The service's metrics (issue 4): verified-backup age, last job runs, destinations. ---------
# Without any cleanup yet, destinations are counted from this many newest successful backups.
INVENTORY_BACKUPS_LIMIT = 1000


def collect_service_metrics(
    context: Context, prefix: str, figures: list[TargetFigures]
) -> Iterator[Metric]:
    """Yield the metrics beside the spec's: read from bounded, indexed queries, never storage."""
    verified_age = GaugeMetricFamily(
        prefix + "verified_backup_age_hours",
        "Hours since the newest backup that passed a verify was taken.",
        labels=["target"],
    )
    for item in figures:
        age = verified_backup_age_hours(item)
        if age is not None:
            verified_age.add_metric([item.target], age)
    yield verified_age
    yield from _job_families(context.activities, prefix, figures)
    yield from _destination_families(context.activities, prefix, figures)


def verified_backup_age_hours(figures: TargetFigures) -> float | None:
    """Return the age of the newest verified backup's data (from its id), None without one."""
    verify = figures.last_passed_verify
    taken_at = parse_backup_time(verify.backup_id) if verify and verify.backup_id else None
    if taken_at is None:
        return None
    return max(0.0, (figures.now - taken_at).total_seconds() / 3600)


def last_job_runs(figures: TargetFigures, report: Activity | None) -> dict[str, Activity | None]:
    """Return the last finished run of each job of a target's chain.

    Backup and verify come from what ``figures`` already read; the report covers every target
    at once, is recorded without one, and is looked up once per scrape by the caller.
    """
    return {
        "backup": figures.last_backup,
        "cleanup": figures.last_cleanup,
        "verify": figures.last_verify,
        "report": report,
        "health": figures.last_health,
    }


def _job_families(log: ActivityLog, prefix: str, figures: list[TargetFigures]) -> Iterator[Metric]:
    # Not `job`: Prometheus and the pushgateway own that label (the scrape or push job).
    labels = ["target", "step"]
    duration = GaugeMetricFamily(
        prefix + "job_last_duration_seconds", "Seconds the last finished run took.", labels=labels
    )
    succeeded = GaugeMetricFamily(
        prefix + "job_last_success",
        "1 when the last finished run succeeded, 0 when it failed.",
        labels=labels,
    )
    finished = GaugeMetricFamily(
        prefix + "job_last_finished_timestamp_seconds",
        "Unix time the last finished run ended.",
        labels=labels,
    )
    report = log.latest("report", None, FINISHED)
    for item in figures:
        for job, activity in last_job_runs(item, report).items():
            if activity is None or activity.finished_at is None:
                continue
            duration.add_metric([item.target, job], (activity.duration_ms or 0) / 1000)
            succeeded.add_metric([item.target, job], 1.0 if activity.status == "success" else 0.0)
            finished.add_metric([item.target, job], activity.finished_at.timestamp())
    yield from (duration, succeeded, finished)


def destination_inventory(log: ActivityLog, target: str) -> dict[str, tuple[int, int]]:
    """Return, per destination, how many backups of ``target`` it holds and their bytes.

    Taken from what the last cleanup recorded plus the backups made since, so that a scrape
    never lists storage (an S3 listing per scrape would be slow and cost money). Empty when the
    last cleanup predates that record.
    """
    return inventory_since(log, target, log.latest("cleanup", target, ["success"]))


def inventory_since(
    log: ActivityLog, target: str, cleanup: Activity | None
) -> dict[str, tuple[int, int]]:
    """Return ``destination_inventory`` from the last passed ``cleanup`` already read."""
    stored = CleanupMeta.read(cleanup).stored if cleanup is not None else {}
    if stored is None:
        return {}
    counts = {name: (item.backups, item.size_bytes) for name, item in stored.items()}
    since = cleanup.started_at if cleanup is not None else None
    made = backups_by_destinations(log, target, since, INVENTORY_BACKUPS_LIMIT)
    for name, (backups, size_bytes) in made.items():
        count, total_bytes = counts.get(name, (0, 0))
        counts[name] = (count + backups, total_bytes + size_bytes)
    return counts


def _destination_families(
    log: ActivityLog, prefix: str, figures: list[TargetFigures]
) -> Iterator[Metric]:
    labels = ["target", "destination"]
    count = GaugeMetricFamily(
        prefix + "destination_backups", "Committed backups a destination holds.", labels=labels
    )
    size = GaugeMetricFamily(
        prefix + "destination_size_bytes",
        "Stored bytes of the committed backups a destination holds.",
        labels=labels,
    )
    for item in figures:
        inventory = inventory_since(log, item.target, item.last_passed_cleanup)
        for destination, (backups, size_bytes) in sorted(inventory.items()):
            count.add_metric([item.target, destination], backups)
            size.add_metric([item.target, destination], size_bytes)
    yield from (count, size)
