"""The hooks the faces register on a job context: alerts and the metrics push after each job,
the dead man's switch around each run of the chain.

The CLI and the service (and the fleet's worker) open their context with
``after_run_hooks(settings)`` and ``chain_hooks()``; ``jobs.lifecycle`` calls each hook with the
finished row, or with the run's outcome. A job itself knows nobody who listens, and a job test
that opens a bare context sends no alert and no ping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backproof.config.models import Settings
from backproof.jobs.context import AfterRunHook, ChainHook, ChainOutcome, Context

if TYPE_CHECKING:
    from backproof.alerts.deadman import DeadManSwitch
    from backproof.state.activities import Activity


def after_run_hooks(settings: Settings) -> list[AfterRunHook]:
    """Return the hooks of a face, in order: alerts first, then the metrics push."""
    hooks: list[AfterRunHook] = [send_alerts]
    if settings.metrics.pushgateway:
        hooks.append(push_metrics_after_run)
    return hooks


def send_alerts(context: Context, finished: Activity) -> None:
    """Judge and send the alerts a finished run may change (never raises)."""
    # The alert decisions load after a run, not at start-up (issue 12).
    from backproof.alert_dispatch import alert_after_job  # noqa: PLC0415

    alert_after_job(context, finished)


def push_metrics_after_run(context: Context, finished: Activity) -> None:
    """Push every target's metrics once a row is finished (never raises)."""
    # prometheus_client loads only where a pushgateway is configured (CLI start-up time).
    from backproof.pushgateway import push_metrics  # noqa: PLC0415

    push_metrics(context)


def chain_hooks() -> list[ChainHook]:
    """Return the hooks around a run of the chain: the dead man's switch."""
    return [PingDeadManSwitch()]


class PingDeadManSwitch:
    """Pings ``alerts.healthcheck_url`` (read when the run starts and ends; nothing without
    one): ``/start``, then success or ``/fail`` by the run's own outcome, its steps as the body."""

    def chain_started(self, context: Context, target: str) -> None:
        """Ping ``/start`` (a failed ping is logged by the switch)."""
        _switch(context).start()

    def chain_finished(self, context: Context, outcome: ChainOutcome) -> None:
        """Ping success or ``/fail`` with the run's summary."""
        _switch(context).finish(outcome.succeeded, outcome.summary)


def _switch(context: Context) -> DeadManSwitch:
    # httpx loads only when a chain runs, so that `list` and friends start light.
    from backproof.alerts.deadman import DeadManSwitch  # noqa: PLC0415

    return DeadManSwitch.from_settings(context.settings.alerts)
