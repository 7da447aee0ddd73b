"""Running every check of ``doctor``, each group guarded so one failure never hides the rest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from backproof.clock import utc_now
from backproof.config.models import Settings
from backproof.doctor.checks import CheckGroup, DoctorResult, guarded
from backproof.doctor.source_checks import check_targets
from backproof.doctor.state_checks import check_clock, check_safety, check_signing, check_state
from backproof.doctor.storage_checks import check_destinations, check_verify_space


def run_doctor(settings: Settings, clock: Callable[[], datetime] = utc_now) -> DoctorResult:
    """Check ``settings`` without changing anything; return every check."""
    now = clock()
    groups: list[tuple[str, CheckGroup]] = [
        ("state", check_state),
        ("config", check_safety),
        ("signing", check_signing),
        ("targets", check_targets),
        ("destinations", check_destinations),
        ("verify space", check_verify_space),
        ("clock", check_clock),
    ]
    checks = [check for name, group in groups for check in guarded(name, group, settings, now)]
    return DoctorResult(tuple(checks))
