"""A scrape reads the state database with a fixed number of queries, whatever its history.

The latency of a scrape is measured by ``benchmarks/bench_scrape.py``; here the queries of one
rendering are counted on a short and on a long history of four targets (issue 12).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from backproof.config.models import Settings
from backproof.jobs.context import Context, open_context
from backproof.metrics import render_metrics
from backproof.state.schema import ops_activities

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
TARGETS = ("crm", "shop", "blog", "wiki")
CHAIN = ("backup", "cleanup", "verify", "report", "health")
CHAIN_INTERVAL = timedelta(hours=6)


@pytest.fixture
def four_targets(settings: Settings) -> Iterator[Context]:
    """A context whose settings hold four targets, with a clock stopped at NOW."""
    targets = [settings.targets[0].model_copy(update={"name": name}) for name in TARGETS]
    context = open_context(settings.model_copy(update={"targets": targets}), lambda: NOW)
    yield context
    context.activities.engine.dispose()


def history_rows(chains: int) -> list[dict[str, Any]]:
    """Return the rows of ``chains`` daily chains of every target, the newest ending at NOW."""
    rows = []
    for index in range(chains):
        start = NOW - CHAIN_INTERVAL * (chains - index)
        for target in TARGETS:
            for position, job in enumerate(CHAIN):
                started = start + timedelta(minutes=position)
                failed = job in ("backup", "verify") and index % 7 == 3
                rows.append(
                    {
                        "job": job,
                        "target": None if job == "report" else target,
                        "status": "failed" if failed else "success",
                        "started_at": started,
                        "finished_at": started + timedelta(seconds=30),
                        "duration_ms": 30_000,
                        "meta": _meta(job),
                        "backup_id": f"{started:%Y%m%dT%H%M%SZ}-{index:06x}",
                    }
                )
    return rows


def _meta(job: str) -> dict[str, Any]:
    if job == "backup":
        return {"size_bytes": 2000, "db_raw_size_bytes": 3000, "destinations": ["local"]}
    if job == "cleanup":
        return {"stored": {"local": {"backups": 30, "size_bytes": 60_000}}}
    if job == "verify":
        return {"destination": "local", "restore_duration_seconds": 1.5}
    return {}


def queries_of_one_scrape(context: Context, chains: int) -> list[str]:
    """Write ``chains`` chains of history; return the statements one rendering executes."""
    engine = context.activities.engine
    with engine.begin() as connection:
        connection.execute(sa.insert(ops_activities), history_rows(chains))
    statements: list[str] = []

    def record(*arguments: Any) -> None:
        statements.append(arguments[2])

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        render_metrics(context)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return statements


def test_scrape_queries_are_as_many_with_a_long_history_as_with_a_short_one(
    four_targets: Context,
) -> None:
    short = queries_of_one_scrape(four_targets, chains=10)
    with four_targets.activities.engine.begin() as connection:
        connection.execute(sa.delete(ops_activities))
    long = queries_of_one_scrape(four_targets, chains=2000)
    assert len(long) == len(short)
    assert sorted(long) == sorted(short)


def test_scrape_needs_few_queries_per_target(four_targets: Context) -> None:
    statements = queries_of_one_scrape(four_targets, chains=10)
    # Per target: its rows (one UNION ALL), its counts, the backups since its last cleanup, and
    # (the history's failed verifies are never proved again) whether a cleanup deleted those
    # backups; once per scrape, the last report.
    assert len(statements) == 4 * len(TARGETS) + 1, statements
