"""Start-up clean-up on the demo CRM: leftover temporary databases and stale rows."""

from __future__ import annotations

import subprocess

from backproof.config.models import Settings
from backproof.jobs.context import Context
from backproof.scheduler.startup import clean_up_at_startup
from backproof.state.activities import ActivityLog
from sqlite_leftovers import leave_scratch


def test_startup_drops_leftover_verify_databases_and_nothing_else(
    settings: Settings, context: Context
) -> None:
    scratch = settings.state.lock_dir.parent / "verify"
    leftover = leave_scratch(scratch, "verify_crm_20261126t010000z_a1b2c3")
    unrelated = scratch / "customer_copy.sqlite"
    unrelated.write_bytes(b"not ours")

    outcome = clean_up_at_startup(context)

    assert outcome.dropped == {"crm": [leftover.name]}
    assert not leftover.exists()
    assert unrelated.exists()


def test_startup_finishes_rows_left_running_by_a_dead_process(context: Context) -> None:
    ended = subprocess.Popen(["true"])
    ended.wait()
    crashed = ActivityLog(context.activities.engine)
    crashed.pid = ended.pid
    activity_id = crashed.start("verify", "crm")

    outcome = clean_up_at_startup(context)

    assert outcome.stale_activity_ids == [activity_id]
    row = context.activities.get(activity_id)
    assert row.status == "failed"
    assert "stale" in (row.message or "")
