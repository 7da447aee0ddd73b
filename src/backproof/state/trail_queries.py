"""The dashboard's reads of the audit trail: a page of rows, runs counted per day, the newest
row of each of a set of backups. Bounded, indexed queries that stay fast on a trail of
millions of rows; writing stays with ``ActivityLog``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backproof.state.activities import Activity, ActivityLog
from backproof.state.activities import _conditions as conditions
from backproof.state.activities import _to_activity as to_activity
from backproof.state.schema import UTCDateTime
from backproof.state.schema import ops_activities as table


def page_activities(
    log: ActivityLog,
    *,
    job: str | None = None,
    target: str | None = None,
    statuses: Iterable[str] | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Activity]:
    """Return up to ``limit`` matching rows after the row ``before_id``, newest first.

    Ordered by (started_at, id), the order of the indexes that lead with ``started_at`` or end
    with it (``(job, target, started_at)``): keyset paging from the row ``before_id`` stays as
    fast on page 1,000 as on page 1.
    """
    order = (table.c.started_at.desc(), table.c.id.desc())
    statement = sa.select(table).order_by(*order).limit(limit)
    statement = statement.where(*conditions(job, target, statuses, since, None))
    with log.engine.connect() as connection:
        if before_id is not None:
            query = sa.select(table.c.started_at).where(table.c.id == before_id)
            started_at = connection.execute(query).scalar()
            if started_at is not None:
                statement = statement.where(
                    sa.or_(
                        table.c.started_at < started_at,
                        sa.and_(table.c.started_at == started_at, table.c.id < before_id),
                    )
                )
        return [to_activity(row) for row in connection.execute(statement)]


def daily_outcomes(
    log: ActivityLog, target: str, jobs: Iterable[str], since: datetime
) -> dict[str, dict[str, int]]:
    """Return, per day (``YYYY-MM-DD``, UTC), how many runs of ``jobs`` on ``target``
    succeeded and failed since ``since``: counted by the database, a few rows per day."""
    day = sa.func.date(table.c.started_at)
    statement = (
        sa.select(day, table.c.status, sa.func.count())
        .where(
            table.c.job.in_(list(jobs)),
            table.c.target == target,
            table.c.started_at >= since,
            table.c.status.in_(["success", "failed"]),
        )
        .group_by(day, table.c.status)
    )
    days: dict[str, dict[str, int]] = {}
    with log.engine.connect() as connection:
        for moment, status, count in connection.execute(statement):
            days.setdefault(str(moment)[:10], {})[status] = int(count)
    return days


def latest_of_backups(
    log: ActivityLog, job: str, target: str, statuses: Iterable[str], backup_ids: Iterable[str]
) -> dict[str, Activity]:
    """Return, for each of ``backup_ids`` that has one, its newest row of ``job``.

    Only the backup ids are asked of the database, so that it reads the few rows of each id
    through their index rather than every row of the job on the target; the rest is sifted here.
    """
    ids = list(backup_ids)
    if not ids:
        return {}
    wanted = set(statuses)
    statement = sa.select(table).where(table.c.backup_id.in_(ids))
    with log.engine.connect() as connection:
        rows = [to_activity(row) for row in connection.execute(statement)]
    newest: dict[str, Activity] = {}
    for row in sorted(rows, key=lambda item: (item.started_at, item.id), reverse=True):
        if row.job == job and row.target == target and row.status in wanted:
            newest.setdefault(row.backup_id or "", row)
    return newest


# At most this many such backups are named and looked up among the cleanups' deletions: the
# lookup is one statement of a fixed shape, so that a scrape's queries never vary.
FAILING_NAMED = 10


def failing_kept_backups(
    log: ActivityLog, target: str, failing: list[Activity], since: datetime | None
) -> list[Activity]:
    """Return those of ``failing`` (the failed verify of each backup of ``target`` whose latest
    proof failed, newest first) that failed after ``since`` and that no cleanup has deleted
    since, newest first: the kept backups that no longer restore.

    One more statement at most: the cleanups since the oldest failure that name one of the
    ``FAILING_NAMED`` newest failing backups.
    """
    failing = [row for row in failing if since is None or row.started_at > since]
    failing = failing[:FAILING_NAMED]
    if not failing:
        return []
    oldest = min(row.started_at for row in failing)
    deleted = _deleted_since(log, target, [str(row.backup_id) for row in failing], oldest)
    return [row for row in failing if row.backup_id not in deleted]


@functools.cache
def _deleted_statement() -> sa.Select[Any]:
    """Return the statement of ``_deleted_since``, its values bound at execution (built once:
    building it cost a scrape more than running it)."""
    text = sa.cast(table.c.meta, sa.Text)
    return sa.select(table.c.meta).where(
        table.c.job == "cleanup",
        table.c.target == sa.bindparam("target"),
        table.c.status.in_(["success", "failed"]),
        table.c.started_at >= sa.bindparam("since", type_=UTCDateTime()),
        sa.or_(*(text.contains(sa.bindparam(f"backup_{index}")) for index in range(FAILING_NAMED))),
    )


def _deleted_since(
    log: ActivityLog, target: str, backup_ids: list[str], since: datetime
) -> set[str]:
    """Return which of ``backup_ids`` a cleanup (not a dry run) deleted since ``since``."""
    padded = (backup_ids * FAILING_NAMED)[:FAILING_NAMED]  # the statement's shape never varies
    parameters: dict[str, Any] = {"target": target, "since": since}
    parameters.update({f"backup_{index}": backup_id for index, backup_id in enumerate(padded)})
    deleted: set[str] = set()
    with log.engine.connect() as connection:
        for (meta,) in connection.execute(_deleted_statement(), parameters):
            if meta and not meta.get("dry_run"):
                for ids in (meta.get("deleted") or {}).values():
                    deleted.update(ids)
    return deleted & set(backup_ids)


def backups_by_destinations(
    log: ActivityLog, target: str, since: datetime | None, limit: int
) -> dict[str, tuple[int, int]]:
    """Return, per destination, how many of the ``limit`` newest successful backups of
    ``target`` started since ``since`` (all when None) it received, and their stored bytes.

    Counted and summed by the database, grouped by each backup's list of destinations: a few
    rows whatever the number of backups, none of them decoded as an activity (issue 12).
    """
    parameters: dict[str, Any] = {"target": target}
    if since is not None:
        parameters["since"] = since
    inventory: dict[str, tuple[int, int]] = {}
    with log.engine.connect() as connection:
        for names, backups, size_bytes in connection.execute(
            _destinations_statement(since is not None, limit), parameters
        ):
            # A backup without the key reads as SQL NULL or JSON null, as the dialect has it.
            for name in (json.loads(names) if names else None) or []:
                count, total_bytes = inventory.get(name, (0, 0))
                inventory[name] = (count + int(backups), total_bytes + int(size_bytes or 0))
    return inventory


@functools.lru_cache(maxsize=4)
def _destinations_statement(bounded: bool, limit: int) -> sa.Select[Any]:
    """Return the statement of ``backups_by_destinations`` (built once per shape)."""
    conditions = [
        table.c.job == "backup",
        table.c.target == sa.bindparam("target"),
        table.c.status == "success",
    ]
    if bounded:
        conditions.append(table.c.started_at >= sa.bindparam("since", type_=UTCDateTime()))
    newest = (
        sa.select(
            sa.cast(table.c.meta["destinations"], sa.Text).label("names"),
            sa.cast(table.c.meta["size_bytes"].as_string(), sa.BigInteger).label("size_bytes"),
        )
        .where(*conditions)
        .order_by(table.c.started_at.desc(), table.c.id.desc())
        .limit(limit)
        .subquery("newest")
    )
    return sa.select(newest.c.names, sa.func.count(), sa.func.sum(newest.c.size_bytes)).group_by(
        newest.c.names
    )
