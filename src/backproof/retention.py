"""Which backups cleanup keeps and which it deletes: a pure decision, applied elsewhere.

The policy follows borg/borgmatic ``prune`` (the defaults of DESIGN), read as calendar windows:

1. **newest** — the newest backup is always kept, and so is the newest *verified* one
   (``newest verified``). These two are *protected*: nothing below deletes them.
2. **all Nd** — every backup younger than ``keep_all_days`` (``now - created_at`` under
   ``keep_all_days`` days; exact elapsed time, not calendar days).
3. **daily / weekly / monthly / yearly** — for each rule with a count ``N`` (``keep_daily_days``,
   ``keep_weekly_weeks``, ``keep_monthly_months``, ``keep_yearly_years``) the window is the period
   that contains ``now`` and the ``N - 1`` periods before it; in each period of the window that
   has backups, the newest backup of that period is kept. Periods are UTC calendar days, ISO weeks
   (Monday to Sunday), calendar months and calendar years. A count of 0 turns the rule off.
   Unlike borg, which counts the last N periods *that have backups* and skips periods whose
   newest backup an earlier rule already keeps, the window is fixed in time (as restic's
   ``--keep-within-daily`` and the like): it does not stretch back over a gap in the history
   (the newest backup stays protected), and what a rule keeps never depends on other rules.
4. **storage cap** — while the kept backups together exceed ``max_storage_mb`` (1 MB is
   1,000,000 bytes), the oldest kept backup that is not protected is deleted. What they take
   together is their own parts plus every pack of the files store that one of them names,
   each pack counted once: deleting a backup frees only the packs no kept backup names.
5. **clock skew** (issue 9) — backups whose times cannot be believed (``backproof.archive.skew``)
   take part in none of the rules above: they are kept and protected, and never "newest". The
   backup the audit trail says was made last is protected too, whatever its manifest says.

Every decision is made on ``created_at`` (the manifest's time, never a file time) converted to
UTC, so local time and daylight saving never matter. Input order never matters: backups are
ordered by ``(created_at, id)``, so equal times are broken by id (the larger id is newer).
Entries store ``created_at`` in UTC and ``now`` is converted too, because Python compares and
subtracts two datetimes of the same zone by their wall clocks.

Planning again on the survivors of a plan, at the same ``now``, deletes nothing more: every rule
keeps a backup for a property that deleting other backups cannot take away (its age, or being the
newest of its period or of all), and the cap stops as soon as the kept size fits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backproof.config.models import RetentionSettings

BYTES_PER_MB = 1_000_000
REASON_NEWEST = "newest"
REASON_NEWEST_VERIFIED = "newest verified"
REASON_OUTSIDE_RETENTION = "outside retention"
REASON_CLOCK_SKEW = "clock skew: kept, never newest"
REASON_MADE_LAST = "made last (audit trail)"

PeriodOf = Callable[[datetime], int]


@dataclass(frozen=True)
class BackupEntry:
    """One committed backup as retention sees it.

    ``id`` sorts by time; ``created_at`` comes from the manifest, must be timezone-aware and is
    stored converted to UTC; ``verified`` is true when a successful verify exists for it.
    Raises ValueError when ``created_at`` is naive or ``size_bytes`` is negative.
    """

    id: str
    created_at: datetime
    size_bytes: int
    verified: bool = False
    # The packs of the files store it names (shared with other backups; see ``SharedPacks``).
    packs: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # Stored in UTC: Python compares and subtracts two datetimes sharing a tzinfo by their
        # wall clocks, which is wrong across a daylight saving change.
        object.__setattr__(
            self, "created_at", to_utc(self.created_at, f"created_at of {self.id!r}")
        )
        if self.size_bytes < 0:
            raise ValueError(f"size_bytes of backup {self.id!r} is negative: {self.size_bytes}")


@dataclass(frozen=True)
class RetentionPlan:
    """What cleanup should do.

    ``keep`` maps each kept id, oldest first, to the reasons it is kept (``newest``,
    ``newest verified``, ``all 7d``, ``daily``, ``weekly``, ``monthly``, ``yearly``); ``delete``
    lists the ids to delete, oldest first; ``reasons_to_delete`` says why for each
    (``outside retention`` or ``over storage cap 5000 MB``); ``kept_size_bytes`` is the total
    size of the kept backups (the files-store packs they name counted once each).
    """

    keep: dict[str, tuple[str, ...]]
    delete: tuple[str, ...]
    reasons_to_delete: dict[str, str]
    kept_size_bytes: int


def to_utc(moment: datetime, what: str) -> datetime:
    """Return ``moment`` in UTC; raise ValueError naming ``what`` when it has no timezone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def utc_day_index(moment: datetime) -> int:
    """Return the number of the UTC calendar day of ``moment``."""
    return moment.astimezone(UTC).date().toordinal()


def utc_week_index(moment: datetime) -> int:
    """Return the number of the ISO week (Monday to Sunday, UTC) of ``moment``."""
    # Ordinal 1 (0001-01-01) is a Monday, so whole weeks counted from it are ISO weeks.
    return (utc_day_index(moment) - 1) // 7


def utc_month_index(moment: datetime) -> int:
    """Return the number of the UTC calendar month of ``moment``."""
    utc_moment = moment.astimezone(UTC)
    return utc_moment.year * 12 + utc_moment.month - 1


def utc_year_index(moment: datetime) -> int:
    """Return the UTC calendar year of ``moment``."""
    return moment.astimezone(UTC).year


def period_rules(policy: RetentionSettings) -> tuple[tuple[str, int, PeriodOf], ...]:
    """Return each period rule of ``policy`` as (reason, count of periods, period function)."""
    return (
        ("daily", policy.keep_daily_days, utc_day_index),
        ("weekly", policy.keep_weekly_weeks, utc_week_index),
        ("monthly", policy.keep_monthly_months, utc_month_index),
        ("yearly", policy.keep_yearly_years, utc_year_index),
    )


def order_oldest_first(backups: Iterable[BackupEntry]) -> list[BackupEntry]:
    """Return ``backups`` oldest first, equal times ordered by id.

    Raises ValueError when two backups share an id.
    """
    ordered = sorted(backups, key=lambda entry: (entry.created_at, entry.id))
    seen_ids: set[str] = set()
    for entry in ordered:
        if entry.id in seen_ids:
            raise ValueError(f"backup id {entry.id!r} appears more than once")
        seen_ids.add(entry.id)
    return ordered


def protected_reasons(ordered: Sequence[BackupEntry]) -> dict[str, list[str]]:
    """Return the reasons protecting the newest and the newest verified of ``ordered``."""
    reasons: dict[str, list[str]] = {}
    if ordered:
        reasons[ordered[-1].id] = [REASON_NEWEST]
    verified = [entry for entry in ordered if entry.verified]
    if verified:
        reasons.setdefault(verified[-1].id, []).append(REASON_NEWEST_VERIFIED)
    return reasons


def recent_ids(ordered: Sequence[BackupEntry], now: datetime, keep_all_days: int) -> list[str]:
    """Return the ids of backups younger than ``keep_all_days`` days at ``now``."""
    if keep_all_days <= 0:
        return []
    limit = timedelta(days=keep_all_days)
    return [entry.id for entry in ordered if now - entry.created_at < limit]


def newest_per_period_ids(
    ordered: Sequence[BackupEntry], now: datetime, count: int, period_of: PeriodOf
) -> list[str]:
    """Return the id of the newest backup of each of the ``count`` periods ending at ``now``.

    Backups dated after ``now`` (clock skew) count as inside the window.
    """
    now_period = period_of(now)
    newest_by_period: dict[int, str] = {}
    for entry in ordered:  # oldest first, so the last one written per period is its newest
        period = period_of(entry.created_at)
        if now_period - period < count:
            newest_by_period[period] = entry.id
    return list(newest_by_period.values())


def retention_reasons(
    ordered: Sequence[BackupEntry], now: datetime, policy: RetentionSettings
) -> dict[str, list[str]]:
    """Return the reasons each backup of ``ordered`` is kept by the rules, before the cap."""
    reasons = protected_reasons(ordered)
    all_reason = f"all {policy.keep_all_days}d"
    for backup_id in recent_ids(ordered, now, policy.keep_all_days):
        reasons.setdefault(backup_id, []).append(all_reason)
    for reason, count, period_of in period_rules(policy):
        for backup_id in newest_per_period_ids(ordered, now, count, period_of):
            reasons.setdefault(backup_id, []).append(reason)
    return reasons


class SharedPacks:
    """The packs some backups name, each counted once, and what deleting a backup frees."""

    def __init__(self, entries: Iterable[BackupEntry], pack_sizes: Mapping[str, int]) -> None:
        self.pack_sizes = pack_sizes
        self.names = Counter(pack for entry in entries for pack in entry.packs)

    @property
    def size_bytes(self) -> int:
        """Return the bytes of the packs still named (a pack not listed counts 0)."""
        return sum(self.pack_sizes.get(pack, 0) for pack in self.names)

    def drop(self, entry: BackupEntry) -> int:
        """Forget ``entry``; return the bytes of the packs no other backup names now."""
        freed = 0
        for pack in entry.packs:
            self.names[pack] -= 1
            if self.names[pack] == 0:
                del self.names[pack]
                freed += self.pack_sizes.get(pack, 0)
        return freed


def kept_size(entries: Sequence[BackupEntry], pack_sizes: Mapping[str, int]) -> int:
    """Return what ``entries`` take together: their parts and the packs they name, once each."""
    return sum(entry.size_bytes for entry in entries) + SharedPacks(entries, pack_sizes).size_bytes


def ids_over_cap(
    kept_oldest_first: Sequence[BackupEntry],
    protected_ids: set[str],
    cap_bytes: float,
    pack_sizes: Mapping[str, int] | None = None,
) -> list[str]:
    """Return the ids to delete, oldest first, so the kept size fits under ``cap_bytes``.

    The kept size counts each pack of the files store once (``pack_sizes``: name → bytes), so a
    deleted backup frees only the packs no kept backup names. Protected backups are skipped;
    when only they remain the kept size may stay over the cap.
    """
    shared = SharedPacks(kept_oldest_first, pack_sizes or {})
    total_bytes = sum(entry.size_bytes for entry in kept_oldest_first) + shared.size_bytes
    deleted: list[str] = []
    for entry in kept_oldest_first:
        if total_bytes <= cap_bytes:
            break
        if entry.id not in protected_ids:
            deleted.append(entry.id)
            total_bytes -= entry.size_bytes + shared.drop(entry)
    return deleted


def plan_retention(
    backups: Sequence[BackupEntry],
    now: datetime,
    policy: RetentionSettings,
    *,
    flagged: Collection[str] = (),
    made_last: str | None = None,
    pack_sizes: Mapping[str, int] | None = None,
) -> RetentionPlan:
    """Return which of ``backups`` to keep and which to delete at ``now`` under ``policy``.

    See the module docstring for the rules. ``backups`` may come in any order. ``flagged`` are
    the ids whose times cannot be believed (clock skew): kept, never newest. ``made_last`` is
    the backup the audit trail says was made last: never deleted, whatever its manifest says.
    ``pack_sizes`` (pack name → bytes) sizes the files-store packs the backups name.
    Raises ValueError when ``now`` is naive or two backups share an id.
    """
    now = to_utc(now, "now")
    everything = order_oldest_first(backups)
    ordered = [entry for entry in everything if entry.id not in flagged]
    reasons = retention_reasons(ordered, now, policy)
    protected_ids = set(protected_reasons(ordered))
    for entry in everything:
        if entry.id in flagged:
            reasons.setdefault(entry.id, []).append(REASON_CLOCK_SKEW)
            protected_ids.add(entry.id)
        if entry.id == made_last:
            reasons.setdefault(entry.id, []).append(REASON_MADE_LAST)
            protected_ids.add(entry.id)
    ordered = everything
    kept = [entry for entry in ordered if entry.id in reasons]
    cap_reason = f"over storage cap {policy.max_storage_mb:g} MB"
    cap_bytes = policy.max_storage_mb * BYTES_PER_MB
    capped = set(ids_over_cap(kept, protected_ids, cap_bytes, pack_sizes))
    reasons_to_delete: dict[str, str] = {}
    for entry in ordered:
        if entry.id not in reasons:
            reasons_to_delete[entry.id] = REASON_OUTSIDE_RETENTION
        elif entry.id in capped:
            reasons_to_delete[entry.id] = cap_reason
    survivors = [entry for entry in kept if entry.id not in capped]
    return RetentionPlan(
        keep={entry.id: tuple(reasons[entry.id]) for entry in survivors},
        delete=tuple(reasons_to_delete),
        reasons_to_delete=reasons_to_delete,
        kept_size_bytes=kept_size(survivors, pack_sizes or {}),
    )


def plan_debris(
    backup_ids_without_manifest: Sequence[str],
    now: datetime,
    min_age_hours: float,
    id_time: Callable[[str], datetime | None],
) -> tuple[str, ...]:
    """Return the ids of uncommitted backups old enough to delete, oldest first.

    The age is taken from the time ``id_time`` reads in the id (usually
    ``backproof.archive.manifest.parse_backup_time``); an id it cannot read is not one of ours
    and is never returned, nor is one younger than ``min_age_hours`` (a backup may still be
    being written). Raises ValueError when ``now`` or a time read from an id is naive.
    """
    now = to_utc(now, "now")
    min_age = timedelta(hours=min_age_hours)
    old_enough: list[tuple[datetime, str]] = []
    for backup_id in set(backup_ids_without_manifest):
        started_at = id_time(backup_id)
        if started_at is None:
            continue
        started_at = to_utc(started_at, f"time of backup id {backup_id!r}")
        if now - started_at >= min_age:
            old_enough.append((started_at, backup_id))
    return tuple(backup_id for _, backup_id in sorted(old_enough))
