"""The statements of the audit trail's frequent reads, built once per shape.

Building a SQLAlchemy statement costs more than running it on SQLite: a scrape, which reads a
few rows of every target, spent most of its time there. These builders are cached, and the
values (target, time, backup id) are bound at execution (issue 12).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Slot:
    """One set of rows a target's figures read: the newest ``limit`` rows of ``job`` with one
    of ``statuses``.

    ``bound`` narrows them to rows started before ``:moment`` (``"before"``) or from it on
    (``"from"``). With ``among`` (statuses, count), they are instead the newest row of each
    backup among the ``count`` newest rows of ``job`` with one of those statuses, kept when its
    own status is one of ``statuses`` (the kept backups whose latest proof failed).
    """

    job: str
    statuses: tuple[str, ...]
    limit: int = 1
    bound: str | None = None
    among: tuple[tuple[str, ...], int] | None = None


@functools.lru_cache(maxsize=16)
def slots_statement(slots: tuple[Slot, ...]) -> sa.CompoundSelect[Any]:
    """Return one statement reading every slot of ``slots`` for ``:target`` (and ``:moment``
    when a slot is bounded): indexed ``LIMIT`` lookups joined by ``UNION ALL``, each row
    labelled with its slot's position (built once per shape)."""
    selects = []
    for index, slot in enumerate(slots):
        rows = _slot_rows(slot).subquery(f"slot_{index}")
        selects.append(
            sa.select(sa.literal(index).label("slot"), *(rows.c[c.name] for c in table.c))
        )
    return sa.union_all(*selects)


def _newest(job: str, statuses: tuple[str, ...], limit: int) -> sa.Select[Any]:
    return (
        sa.select(table)
        .where(
            table.c.job == job,
            table.c.target == sa.bindparam("target"),
            table.c.status.in_(statuses),
        )
        .order_by(table.c.started_at.desc(), table.c.id.desc())
        .limit(limit)
    )


def _slot_rows(slot: Slot) -> sa.Select[Any]:
    if slot.among is None:
        statement = _newest(slot.job, slot.statuses, slot.limit)
        moment = sa.bindparam("moment", type_=UTCDateTime())
        if slot.bound == "before":
            statement = statement.where(table.c.started_at < moment)
        elif slot.bound == "from":
            statement = statement.where(table.c.started_at >= moment)
        return statement
    statuses, count = slot.among
    recent = _newest(slot.job, statuses, count).subquery("recent")
    rank = sa.func.row_number().over(
        partition_by=recent.c.backup_id, order_by=(recent.c.started_at.desc(), recent.c.id.desc())
    )
    ranked = (
        sa.select(recent, rank.label("backup_rank"))
        .where(recent.c.backup_id.is_not(None))
        .subquery("ranked")
    )
    return (
        sa.select(*(ranked.c[c.name] for c in table.c))
        .where(ranked.c.backup_rank == 1, ranked.c.status.in_(slot.statuses))
        .order_by(ranked.c.started_at.desc(), ranked.c.id.desc())
        .limit(slot.limit)
    )


@functools.cache
def proofs_statement() -> sa.Select[Any]:
    """Return the statement of ``ActivityLog.proofs``, oldest first, with ``target`` and the
    ``backup_ids`` bound at execution."""
    return (
        sa.select(table.c.backup_id, table.c.status, table.c.finished_at, table.c.meta)
        .where(
            table.c.job == "verify",
            table.c.target == sa.bindparam("target"),
            table.c.status.in_(("success", "failed")),
            table.c.backup_id.in_(sa.bindparam("backup_ids", expanding=True)),
        )
        .order_by(table.c.finished_at, table.c.id)
    )
