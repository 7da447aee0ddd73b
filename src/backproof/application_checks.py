"""Application checks: the query a user wrote, made ready for one backup, and its verdict (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from backproof.config.models import BACKUP_TIME_PLACEHOLDER, ApplicationCheck


def prepare_sql(check: ApplicationCheck, backup_time: datetime) -> str:
    """Return the check's SQL with ``{backup_time}`` replaced by a quoted UTC literal."""
    literal = backup_time.astimezone(UTC).strftime("'%Y-%m-%d %H:%M:%S'")
    return check.sql.replace(BACKUP_TIME_PLACEHOLDER, literal)


def judge(check: ApplicationCheck, value: object) -> str | None:
    """Return why ``value`` fails ``check``, or None when it passes."""
    if check.expect is not None:
        if _equals(value, check.expect):
            return None
        return f"the value is {_shown(value)}, expected {check.expect!r}"
    number = _number(value)
    if number is None:
        return f"the value is {_shown(value)}, not a number"
    if check.at_least is not None and number < Decimal(str(check.at_least)):
        return f"the value is {_shown(value)}, expected at least {check.at_least}"
    if check.at_most is not None and number > Decimal(str(check.at_most)):
        return f"the value is {_shown(value)}, expected at most {check.at_most}"
    return None


def _equals(value: object, expected: int | float | str) -> bool:
    if isinstance(expected, str):
        return value is not None and str(value) == expected
    number = _number(value)
    return number is not None and number == Decimal(str(expected))


def _number(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _shown(value: object) -> str:
    return "NULL (no row, or NULL)" if value is None else repr(value)
