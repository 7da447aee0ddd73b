"""The audit trail: rows of ``ops_activities``, written before the work and finished after it."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from backproof.clock import isoformat, utc_now
from backproof.masking import mask_url
from backproof.process.liveness import is_process_alive
from backproof.state.activity_statements import (
    Slot,
    count_statement,
    find_statement,
    proofs_statement,
    slots_statement,
)
from backproof.state.locks import is_server_state
from backproof.state.proofs import Proofs, collect_proofs
from backproof.state.schema import ops_activities as table

MESSAGE_LIMIT = 4000


def stale_meta() -> dict[str, Any]:
    """Return the ``meta`` of a row failed as stale (the records load only when one is found)."""
    from backproof.state.records import ActivityMeta  # noqa: PLC0415 - not for `list` (issue 12)

    return ActivityMeta(stale=True).to_json()


@dataclass(frozen=True)
class Activity:
    """One row of the audit trail."""

    id: int
    job: str
    target: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    message: str | None
    meta: dict[str, Any] = field(default_factory=dict)
    host: str | None = None
    pid: int | None = None
    backup_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the row as the JSON object of ``activities --json``."""
        return {
            "id": self.id,
            "job": self.job,
            "target": self.target,
            "status": self.status,
            "started_at": isoformat(self.started_at),
            "finished_at": isoformat(self.finished_at),
            "duration_ms": self.duration_ms,
            "message": self.message,
            "meta": self.meta,
            "host": self.host,
            "backup_id": self.backup_id,
        }


class ActivityLog:
    """Reads and writes ``ops_activities``; the only code that does."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        self.host = socket.gethostname()
        self.pid = os.getpid()

    def start(self, job: str, target: str | None, meta: dict[str, Any] | None = None) -> int:
        """Insert a ``running`` row and return its id."""
        values = {
            "job": job,
            "target": target,
            "status": "running",
            "started_at": self.clock(),
            "meta": meta or {},
            "host": self.host,
            "pid": self.pid,
        }
        with self.engine.begin() as connection:
            result = connection.execute(sa.insert(table).values(**values))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def finish(
        self,
        activity_id: int,
        status: str,
        message: str | None,
        meta: dict[str, Any] | None = None,
        backup_id: str | None = None,
    ) -> Activity:
        """Finish a row with its status, message, meta and duration; return it."""
        current = self.get(activity_id)
        finished_at = self.clock()
        duration_ms = max(0, int((finished_at - current.started_at).total_seconds() * 1000))
        values = {
            "status": status,
            "finished_at": finished_at,
            "duration_ms": duration_ms,
            "message": _clip(message),
            "meta": {**current.meta, **(meta or {})},
            "backup_id": backup_id or current.backup_id,
        }
        with self.engine.begin() as connection:
            connection.execute(sa.update(table).where(table.c.id == activity_id).values(**values))
        return self.get(activity_id)

    def discard(self, activity_id: int) -> None:
        """Delete a row of a run that turned out never to run (its configuration was wrong)."""
        with self.engine.begin() as connection:
            connection.execute(sa.delete(table).where(table.c.id == activity_id))

    def set_backup_id(self, activity_id: int, backup_id: str) -> None:
        """Attach the backup a running activity works on, so a crash still names it."""
        with self.engine.begin() as connection:
            statement = sa.update(table).where(table.c.id == activity_id)
            connection.execute(statement.values(backup_id=backup_id))

    def record(
        self,
        job: str,
        target: str | None,
        status: str,
        message: str,
        meta: dict[str, Any] | None = None,
    ) -> Activity:
        """Insert a finished row at once (a skipped run, an alert that could not be sent)."""
        return self.finish(self.start(job, target, meta), status, message)

    def get(self, activity_id: int) -> Activity:
        """Return one row; KeyError when there is none."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(table).where(table.c.id == activity_id)).first()
        if row is None:
            raise KeyError(activity_id)
        return _to_activity(row)

    def find(
        self,
        *,
        job: str | None = None,
        target: str | None = None,
        statuses: Iterable[str] | None = None,
        since: datetime | None = None,
        backup_id: str | None = None,
        limit: int | None = 100,
        until: datetime | None = None,
    ) -> list[Activity]:
        """Return matching rows (started in ``[since, until)`` when given), newest first."""
        values = {
            "job": job,
            "target": target,
            "since": since,
            "until": until,
            "backup_id": backup_id,
        }
        statement = find_statement(
            frozenset(name for name, value in values.items() if value is not None),
            None if statuses is None else tuple(statuses),
            limit,
        )
        parameters = {name: value for name, value in values.items() if value is not None}
        with self.engine.connect() as connection:
            return [_to_activity(row) for row in connection.execute(statement, parameters)]

    def latest(self, job: str, target: str | None, statuses: Iterable[str]) -> Activity | None:
        """Return the newest row of ``job`` on ``target`` with one of ``statuses``."""
        rows = self.find(job=job, target=target, statuses=statuses, limit=1)
        return rows[0] if rows else None

    def last_backup_made(self, target: str) -> str | None:
        """Return the backup of ``target`` whose successful run was recorded last.

        Ordered by row id (the order the rows were written), not by time: a backup made with
        a wrong clock cannot move itself in this order.
        """
        statement = (
            sa.select(table.c.backup_id)
            .where(*_conditions("backup", target, ["success"], None, None))
            .where(table.c.backup_id.is_not(None))
            .order_by(table.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            backup_id = connection.execute(statement).scalar()
        return None if backup_id is None else str(backup_id)

    def count_by_status(self, job: str, target: str | None, since: datetime) -> dict[str, int]:
        """Return how many rows of each status ``job`` on ``target`` has since ``since``."""
        statement = (
            sa.select(table.c.status, sa.func.count())
            .where(*_conditions(job, target, None, since, None))
            .group_by(table.c.status)
        )
        with self.engine.connect() as connection:
            return {status: int(count) for status, count in connection.execute(statement)}

    def count_by_job_and_status(
        self, jobs: Sequence[str], target: str, since: datetime
    ) -> dict[tuple[str, str], int]:
        """Return how many rows of each ``(job, status)`` of ``jobs`` on ``target`` has since
        ``since``, in one statement."""
        statement = count_statement(tuple(jobs))
        with self.engine.connect() as connection:
            rows = connection.execute(statement, {"target": target, "since": since})
            return {(job, status): int(count) for job, status, count in rows}

    def rows_by_slot(
        self, target: str, slots: tuple[Slot, ...], moment: datetime | None = None
    ) -> list[list[Activity]]:
        """Return the rows of each of ``slots`` on ``target``, newest first (``moment`` bounds
        the slots that name a bound).

        One statement of indexed ``LIMIT`` lookups joined by ``UNION ALL``, built once: a
        scrape reads the rows of a target's figures with one round trip (issue 12).
        """
        parameters: dict[str, Any] = {"target": target}
        if any(slot.bound is not None for slot in slots):
            parameters["moment"] = moment
        found: list[list[Activity]] = [[] for _ in slots]
        with self.engine.connect() as connection:
            for row in connection.execute(slots_statement(slots), parameters):
                found[int(row._mapping["slot"])].append(_to_activity(row))
        for rows in found:
            rows.sort(key=lambda activity: (activity.started_at, activity.id), reverse=True)
        return found

    def proofs(self, target: str, backup_ids: Iterable[str]) -> Proofs:
        """Return what the verifies of ``backup_ids`` of ``target`` found, read in one
        statement (built once): ``list`` shows all three for every backup it lists."""
        ids = list(backup_ids)
        if not ids:
            return collect_proofs([])
        with self.engine.connect() as connection:
            rows = connection.execute(proofs_statement(), {"target": target, "backup_ids": ids})
            return collect_proofs(rows)  # oldest first

    def latest_proofs(
        self, target: str, backup_ids: Iterable[str]
    ) -> dict[str, tuple[str, datetime]]:
        """Return, for each of ``backup_ids`` that a verify finished on, its last result and time.

        The result is the verify's status (``success`` or ``failed``): a backup that passed once
        and failed since shows the failure.
        """
        return self.proofs(target, backup_ids).latest

    def mark_stale(self, stale_after: timedelta) -> list[Activity]:
        """Fail ``running`` rows whose process is gone; return them.

        A row of this host is stale when its process no longer exists; a row of another host
        when it is older than ``stale_after``.
        """
        stale: list[Activity] = []
        for activity in self.find(statuses=["running"], limit=None):
            if self._is_abandoned(activity, stale_after):
                message = (
                    f"stale: process {activity.pid} on {activity.host} ended without "
                    "finishing this run (killed or crashed)"
                )
                stale.append(self.finish(activity.id, "failed", message, stale_meta()))
        return stale

    def mark_abandoned(self, job: str, target: str | None) -> list[Activity]:
        """Fail this host's ``running`` rows of ``job`` on ``target``; return them.

        Called while holding the run lock of ``job`` on ``target``: none of those rows can still
        be running, even when their pid now names another process (after a reboot, say). With a
        server state database the lock is the server's and shared by every host, so the rows of
        every host are abandoned (a worker killed on another host).
        """
        same_target = table.c.target.is_(None) if target is None else table.c.target == target
        conditions = [table.c.job == job, same_target, table.c.status == "running"]
        if not is_server_state(self.engine):
            conditions.append(table.c.host == self.host)
        statement = sa.select(table).where(*conditions)
        with self.engine.connect() as connection:
            rows = [_to_activity(row) for row in connection.execute(statement)]
        message = "stale: the run ended without finishing this row (killed or crashed)"
        return [self.finish(row.id, "failed", message, stale_meta()) for row in rows]

    def _is_abandoned(self, activity: Activity, stale_after: timedelta) -> bool:
        if activity.host == self.host and activity.pid is not None:
            return activity.pid != self.pid and not is_process_alive(activity.pid)
        return self.clock() - activity.started_at > stale_after


def _conditions(
    job: str | None,
    target: str | None,
    statuses: Iterable[str] | None,
    since: datetime | None,
    backup_id: str | None,
) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if job is not None:
        conditions.append(table.c.job == job)
    if target is not None:
        conditions.append(table.c.target == target)
    if statuses is not None:
        conditions.append(table.c.status.in_(list(statuses)))
    if since is not None:
        conditions.append(table.c.started_at >= since)
    if backup_id is not None:
        conditions.append(table.c.backup_id == backup_id)
    return conditions


def _to_activity(row: sa.Row[Any]) -> Activity:
    values = row._mapping
    return Activity(
        id=int(values["id"]),
        job=values["job"],
        target=values["target"],
        status=values["status"],
        started_at=values["started_at"],
        finished_at=values["finished_at"],
        duration_ms=values["duration_ms"],
        message=values["message"],
        meta=dict(values["meta"] or {}),
        host=values["host"],
        pid=values["pid"],
        backup_id=values["backup_id"],
    )


def _clip(message: str | None) -> str | None:
    """Mask URL passwords and bound the length: messages are read by people and reports."""
    if message is None:
        return None
    message = mask_url(message)
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"
