"""What the service cleans up when it starts, before scheduling anything.

Rows left ``running`` by a process that is gone are finished as failed (stale), and temporary
``verify_`` databases left by a crashed verify are dropped, for every target: only ours, by
the name pattern and marker each source checks, never anything else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from backproof.errors import BackproofError
from backproof.jobs.context import Context
from backproof.jobs.scratch_servers import drop_leftover_scratches

logger = logging.getLogger(__name__)


@dataclass
class StartupCleanup:
    """What start-up found and cleaned."""

    stale_activity_ids: list[int] = field(default_factory=list)
    dropped: dict[str, list[str]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def clean_up_at_startup(context: Context) -> StartupCleanup:
    """Finish stale rows and drop leftover temporary databases; log what was done.

    A target whose server cannot be reached is logged and listed in ``problems``; it does not
    stop the service (the next verify drops its leftovers again).
    """
    outcome = StartupCleanup()
    for activity in context.activities.mark_stale(context.stale_after):
        outcome.stale_activity_ids.append(activity.id)
        logger.warning(
            "activity %s (%s) was left running: %s", activity.id, activity.job, activity.message
        )
    for target in context.settings.targets:
        if target.database is None:
            continue
        try:
            dropped = drop_leftover_scratches(context, target)
        except (BackproofError, OSError) as exc:
            outcome.problems[target.name] = str(exc)
            logger.warning("cannot drop leftover temporary databases of %s: %s", target.name, exc)
            continue
        if dropped:
            outcome.dropped[target.name] = dropped
            logger.info(
                "dropped leftover temporary databases of %s: %s", target.name, ", ".join(dropped)
            )
    return outcome
