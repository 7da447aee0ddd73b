"""The statements of the audit trail's frequent reads, built once per shape.

Building a SQLAlchemy statement costs more than running it on SQLite: a scrape, which reads a
few rows of every target, spent most of its time there. These builders are cached, and the
values (target, time, backup id) are bound at execution (issue 12).
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from backproof.state.schema import UTCDateTime
from backproof.state.schema import ops_activities as table


@functools.lru_cache(maxsize=64)
def find_statement(
    bound: frozenset[str], statuses: tuple[str, ...] | None, limit: int | None
) -> sa.Select[Any]:
    """Return the statement of ``find`` filtering on the ``bound`` columns, whose values are
    bound at execution (built once per shape: building costs more than running on SQLite)."""
    conditions = [_condition(name) for name in sorted(bound)]
    if statuses is not None:
        conditions.append(table.c.status.in_(statuses))
    statement = sa.select(table).where(*conditions)
    statement = statement.order_by(table.c.started_at.desc(), table.c.id.desc())
    return statement if limit is None else statement.limit(limit)


def _condition(name: str) -> sa.ColumnElement[bool]:
    """Return the condition on one bound value: a time range for ``since`` and ``until``."""
    if name == "since":
        return table.c.started_at >= sa.bindparam(name, type_=UTCDateTime())
    if name == "until":
        return table.c.started_at < sa.bindparam(name, type_=UTCDateTime())
    return table.c[name] == sa.bindparam(name)


@functools.lru_cache(maxsize=16)
def count_statement(jobs: tuple[str, ...]) -> sa.Select[Any]:
    """Return the statement of ``count_by_job_and_status`` with ``target`` and ``since`` bound
    at execution (built once: building a statement costs more than running it on SQLite)."""
    return (
        sa.select(table.c.job, table.c.status, sa.func.count())
        .where(
            table.c.job.in_(jobs),
            table.c.target == sa.bindparam("target"),
            table.c.started_at >= sa.bindparam("since", type_=UTCDateTime()),
        )
        .group_by(table.c.job, table.c.status)
    )


@functools.lru_cache(maxsize=16)
def latest_each_statement(
    wanted: tuple[tuple[str, tuple[str, ...]], ...],
) -> sa.CompoundSelect[Any]:
    """Return the statement of ``latest_each`` with ``target`` bound at execution."""
    selects = []
    for index, (job, statuses) in enumerate(wanted):
        newest = (
            sa.select(table)
            .where(
                table.c.job == job,
                table.c.target == sa.bindparam("target"),
                table.c.status.in_(statuses),
            )
            .order_by(table.c.started_at.desc(), table.c.id.desc())
            .limit(1)
            .subquery(f"newest_{index}")
        )
        selects.append(sa.select(sa.literal(index).label("slot"), *newest.c))
    return sa.union_all(*selects)
