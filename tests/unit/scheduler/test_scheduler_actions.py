"""Web actions queued to the service's scheduler: they run the real job and say how it ended."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backproof.jobs.context import Context
from backproof.scheduler.actions import Action
from backproof.scheduler.loop import ChainScheduler

WAIT_SECONDS = 30


@pytest.fixture
def service(context: Context) -> Iterator[ChainScheduler]:
    scheduler = ChainScheduler(context)
    scheduler.scheduler.start()
    yield scheduler
    scheduler.stop(WAIT_SECONDS)


def finished(scheduler: ChainScheduler, action: Action) -> Action:
    """Wait until ``action`` finished; return it."""
    queue = scheduler.actions
    with queue.changed:
        assert queue.changed.wait_for(
            lambda: (current := queue.get(action.id)) is not None and current.state == "finished",
            timeout=WAIT_SECONDS,
        )
    result = queue.get(action.id)
    assert result is not None
    return result


def test_back_up_now_runs_a_backup_and_points_at_its_audit_row(
    service: ChainScheduler, context: Context
) -> None:
    action = service.actions.submit("backup", "crm")

    done = finished(service, action)

    row = context.activities.get(done.activity_id or 0)
    assert (row.job, row.target, row.status) == ("backup", "crm", "success")
    assert done.error is None
    assert service.waiting_actions() == []


def test_verify_now_of_a_named_backup_verifies_that_backup(
    service: ChainScheduler, context: Context
) -> None:
    first = finished(service, service.actions.submit("backup", "crm"))
    backup_id = context.activities.get(first.activity_id or 0).backup_id
    finished(service, service.actions.submit("backup", "crm"))

    done = finished(service, service.actions.submit("verify", "crm", backup_id))

    row = context.activities.get(done.activity_id or 0)
    assert (row.job, row.status, row.backup_id) == ("verify", "success", backup_id)


def test_verify_now_without_a_backup_finishes_failed_with_the_reason(
    service: ChainScheduler, context: Context
) -> None:
    done = finished(service, service.actions.submit("verify", "crm"))

    row = context.activities.get(done.activity_id or 0)
    assert row.status == "failed"
    assert done.error is not None
    assert "no committed backup" in done.error


def test_an_action_queued_while_the_service_stops_does_not_run(context: Context) -> None:
    scheduler = ChainScheduler(context)
    scheduler.stopping.set()

    action = Action("x", "backup", "crm", None, context.clock())
    scheduler.actions._store(action)
    scheduler.actions._run("x")

    assert scheduler.actions.get("x") == Action(
        "x",
        "backup",
        "crm",
        None,
        action.queued_at,
        "finished",
        error="the service stopped before it ran",
    )
    assert context.activities.find(job="backup") == []
