"""The tables of the state database, as SQLAlchemy Core metadata.

The migrations in ``migrations/versions`` create and change these tables; this module describes
the current shape for queries. A test checks that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()

ACTIVITY_STATUSES = ("running", "success", "failed", "skipped")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (every engine can), returns timezone-aware UTC."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        """Use microsecond precision on MySQL, whose DATETIME drops fractions by default."""
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects.mysql import DATETIME  # noqa: PLC0415

            return dialect.type_descriptor(DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware time to naive UTC; refuse naive input, which would be ambiguous."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the state database; use UTC-aware times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Mark stored naive UTC as UTC."""
        return None if value is None else value.replace(tzinfo=UTC)


ops_activities = Table(
    "ops_activities",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("job", String(32), nullable=False),
    Column("target", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("duration_ms", BigInteger(), nullable=True),
    Column("message", Text(), nullable=True),
    Column("meta", JSON(), nullable=True),
    Column("host", String(255), nullable=True),
    Column("pid", Integer(), nullable=True),
    Column("backup_id", String(64), nullable=True),
    Index("ix_ops_activities_job_target_started", "job", "target", "started_at"),
    Index("ix_ops_activities_status", "status"),
    Index("ix_ops_activities_backup_id", "backup_id"),
    Index("ix_ops_activities_started", "started_at"),
    # Migration 0003 (issue 4): the newest row of a job over all targets, for scrapes.
    Index("ix_ops_activities_job_started", "job", "started_at"),
)


# --- alerts (issue 5): the state and rate limit of each alert event key, see backproof.alerts ---
ops_alerts = Table(
    "ops_alerts",
    metadata,
    Column("key", String(191), primary_key=True),
    Column("target", String(64), nullable=True),
    Column("active", Boolean(), nullable=False),
    Column("occurrence", String(64), nullable=True),
    Column("last_sent_at", UTCDateTime(), nullable=True),
    Column("suppressed_count", Integer(), nullable=False),
    Column("pending", JSON(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("version", Integer(), nullable=False),
    Index("ix_ops_alerts_target", "target"),
)


# --- the fleet (issue 15): jobs sent to Celery workers, and the workers' heartbeats ---
QUEUE_STATUSES = ("queued", "running", "success", "failed")

ops_queue = Table(
    "ops_queue",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("job", String(32), nullable=False),
    Column("target", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    # "<job>:<target>" while queued or running, NULL once finished: a unique index keeps a target
    # from queueing the same job twice (every engine allows many NULLs in a unique index).
    Column("pending_key", String(128), nullable=True, unique=True),
    Column("step", String(32), nullable=True),
    Column("worker", String(255), nullable=True),
    Column("queued_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=True),
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("exit_code", Integer(), nullable=True),
    Column("result", JSON(), nullable=True),
    Index("ix_ops_queue_status", "status"),
    Index("ix_ops_queue_queued_at", "queued_at"),
)

ops_workers = Table(
    "ops_workers",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer(), nullable=False),
    Column("queues", String(255), nullable=False),
    Column("concurrency", Integer(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
    Column("stopped_at", UTCDateTime(), nullable=True),
)


# --- signing keys (issue 9): the public keys of the key pairs backproof generated ---
# A storage writer cannot write here, so a key read from this table is one this installation
# made; verify trusts it when the configuration names no key.
ops_signing_keys = Table(
    "ops_signing_keys",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("public_key", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("host", String(255), nullable=True),
    Column("key_file", Text(), nullable=True),
)
