"""What ``backproof verify`` prints of a passed verify."""

from __future__ import annotations

from backproof.cli.render import render_verify
from backproof.jobs.verify import VerifyResult

WARNING = "binary logging is on at db:3306/ and the verify user may not turn it off"


def test_verify_summary_is_followed_by_each_warning_on_a_line_of_its_own() -> None:
    result = VerifyResult("20261202T010000Z-abc123", "crm", "local", 1.5, 2, 10, 4)
    result.warnings = [WARNING]

    lines = render_verify(result).splitlines()

    assert lines[0].startswith("verify passed: backup 20261202T010000Z-abc123 from local")
    assert lines[1:] == [f"  ! {WARNING}"]
