"""The scheduler loop with a chain that the test holds and releases: missed runs, one chain per
target, a stop that waits within the grace period or records the run as interrupted."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backproof.clock import utc_now
from backproof.config.loading import resolve_paths
from backproof.config.models import Settings
from backproof.jobs.context import Context, open_context
from backproof.jobs.lifecycle import recorded_run
from backproof.scheduler.loop import ChainScheduler, last_run_times, run_daily_chain
from backproof.state.records import BackupMeta

WAIT_SECONDS = 30


class PinnableClock:
    """The real time, unless the test pins it to write rows in the past."""

    def __init__(self) -> None:
        self.pinned: datetime | None = None

    def __call__(self) -> datetime:
        return self.pinned or utc_now()


class HeldChain:
    """A chain that records a backup through the real lifecycle and waits to be released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls: list[str] = []

    def __call__(self, context: Context, target: str, should_stop: Callable[[], bool]) -> None:
        self.calls.append(target)
        with recorded_run(context, BackupMeta(), target) as record:
            record.message = "held chain"
            self.started.set()
            self.release.wait(WAIT_SECONDS)


@pytest.fixture
def clock() -> PinnableClock:
    return PinnableClock()


@pytest.fixture
def loop_context(tmp_path: Path, clock: PinnableClock) -> Iterator[Context]:
    raw: dict[str, Any] = {
        "state": {"url": f"sqlite:///{tmp_path}/state.db", "lock_dir": "locks"},
        "targets": [{"name": "crm", "database": "sqlite:///crm.db"}],
        "destinations": [{"name": "local", "url": "memory://loop-tests"}],
        "schedule": {"cron": "0 1 * * *", "timezone": "Europe/Prague"},
    }
    context = open_context(resolve_paths(Settings.model_validate(raw), tmp_path), clock)
    yield context
    context.activities.engine.dispose()


@pytest.fixture
def chain() -> Iterator[HeldChain]:
    held = HeldChain()
    yield held
    held.release.set()


def record_backup_at(context: Context, clock: PinnableClock, moment: datetime) -> None:
    clock.pinned = moment
    context.activities.record("backup", "crm", "success", "an earlier run")
    clock.pinned = None


def latest_local_one_oclock(now: datetime) -> datetime:
    """Return the newest 01:00 in Prague (the loop's cron) at or before ``now``."""
    local = now.astimezone(ZoneInfo("Europe/Prague"))
    fire = local.replace(hour=1, minute=0, second=0, microsecond=0)
    if fire > local:
        fire = (local - timedelta(days=1)).replace(hour=1, minute=0, second=0, microsecond=0)
    return fire.astimezone(now.tzinfo)


def in_thread(call: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread


def test_start_runs_an_overdue_target_at_once(
    loop_context: Context, clock: PinnableClock, chain: HeldChain
) -> None:
    record_backup_at(loop_context, clock, utc_now() - timedelta(days=2))
    scheduler = ChainScheduler(loop_context, chain)

    overdue = scheduler.start()

    assert overdue == ["crm"]
    assert chain.started.wait(WAIT_SECONDS)
    chain.release.set()
    assert scheduler.stop(WAIT_SECONDS) == []


def test_start_waits_for_the_schedule_when_the_last_run_is_recent(
    loop_context: Context, clock: PinnableClock, chain: HeldChain
) -> None:
    # Between the schedule's latest time and now, whatever the time of day the test runs at
    # (a run a minute ago was before the schedule's time when the test ran at 01:00 Prague).
    now = utc_now()
    latest_fire = latest_local_one_oclock(now)
    record_backup_at(loop_context, clock, latest_fire + (now - latest_fire) / 2)
    scheduler = ChainScheduler(loop_context, chain)

    overdue = scheduler.start()
    next_run = scheduler.next_run_times()["crm"]
    scheduler.stop(0)

    assert overdue == []
    assert next_run is not None
    assert utc_now() < next_run <= utc_now() + timedelta(days=1)
    assert next_run.astimezone(scheduler.trigger.timezone).hour == 1


def test_last_run_times_come_from_the_newest_backup_row(
    loop_context: Context, clock: PinnableClock
) -> None:
    moment = utc_now() - timedelta(hours=3)
    record_backup_at(loop_context, clock, moment)

    assert last_run_times(loop_context) == {"crm": moment}


def test_a_second_chain_of_the_same_target_is_skipped_and_recorded(
    loop_context: Context, chain: HeldChain
) -> None:
    scheduler = ChainScheduler(loop_context, chain)
    first = in_thread(lambda: scheduler.run_once("crm"))
    assert chain.started.wait(WAIT_SECONDS)

    scheduler.run_once("crm")

    skipped = loop_context.activities.latest("backup", "crm", ["skipped"])
    assert skipped is not None
    assert "previous chain of this target is still running" in (skipped.message or "")
    assert chain.calls == ["crm"]
    chain.release.set()
    first.join(WAIT_SECONDS)


def test_stop_lets_the_running_job_finish_within_the_grace_period(
    loop_context: Context, chain: HeldChain
) -> None:
    scheduler = ChainScheduler(loop_context, chain)
    running = in_thread(lambda: scheduler.run_once("crm"))
    assert chain.started.wait(WAIT_SECONDS)
    outcome: list[Any] = []
    stopping = in_thread(lambda: outcome.append(scheduler.stop(WAIT_SECONDS)))
    assert scheduler.stopping.wait(WAIT_SECONDS)

    chain.release.set()
    stopping.join(WAIT_SECONDS)
    running.join(WAIT_SECONDS)

    assert outcome == [[]]
    backup = loop_context.activities.latest("backup", "crm", ["success", "failed", "running"])
    assert backup is not None
    assert backup.status == "success"


def test_stop_records_a_job_still_running_after_the_grace_period_as_interrupted(
    loop_context: Context, chain: HeldChain
) -> None:
    scheduler = ChainScheduler(loop_context, chain)
    running = in_thread(lambda: scheduler.run_once("crm"))
    assert chain.started.wait(WAIT_SECONDS)

    interrupted = scheduler.stop(0.01)

    assert [row.job for row in interrupted] == ["backup"]
    assert interrupted[0].status == "failed"
    assert "interrupted: the service stopped" in (interrupted[0].message or "")
    assert interrupted[0].meta["interrupted"] is True
    assert loop_context.activities.find(statuses=["running"]) == []
    chain.release.set()
    running.join(WAIT_SECONDS)


def test_run_once_starts_nothing_once_the_service_is_stopping(
    loop_context: Context, chain: HeldChain
) -> None:
    scheduler = ChainScheduler(loop_context, chain)
    scheduler.stop(0)

    scheduler.run_once("crm")

    assert chain.calls == []


def test_the_daily_chain_skips_every_job_when_the_service_is_stopping(context: Context) -> None:
    result = run_daily_chain(context, "crm", lambda: True)

    assert [step.skipped_because for step in result.steps] == ["the service is stopping"] * 5
    assert context.activities.find() == []


def test_a_configuration_error_stops_the_daily_chain_and_is_logged_not_recorded(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    target = settings.targets[0].model_copy(update={"password_env": "BP_TEST_UNSET_PASSWORD"})
    context = open_context(settings.model_copy(update={"targets": [target]}))
    scheduler = ChainScheduler(context)

    scheduler.run_once(target.name)

    assert context.activities.find() == []
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert [record.getMessage() for record in errors] == [
        f"the chain of {target.name} did not run: at targets[0].password: environment variable "
        "BP_TEST_UNSET_PASSWORD is not set"
    ]
    assert errors[0].exc_info is None
    context.activities.engine.dispose()
