"""What a passed verify proved, in words: the phrases of its summary line (light: the CLI
imports it without loading any engine)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backproof.units import format_count

if TYPE_CHECKING:
    from backproof.jobs.verify import VerifyResult
    from backproof.sources.base import IntegrityReport
    from backproof.state.records import CheckOutcome


def describe_proof(result: VerifyResult) -> list[str]:
    """Return what a passed verify proved, one phrase per kind of proof."""
    phrases = []
    if result.depth == "content":
        phrases.append(f"all {result.tables} tables identical ({format_count(result.rows, 'row')})")
    elif result.tables:
        phrases.append(
            f"{result.tables} tables, {result.rows:,} rows and {result.sampled_rows} sampled "
            "rows match (no table digests in this backup)"
        )
    phrases += describe_integrity(result.proof.integrity)
    phrases += describe_checks(result.proof.checks)
    if result.files:
        phrases.append(f"files identical ({format_count(result.files, 'file')})")
    return phrases


def describe_integrity(report: IntegrityReport | None) -> list[str]:
    """Return the phrase about the integrity checks (none when they were turned off)."""
    if report is None:
        return []
    if report.skipped:
        return [f"{report.what} not checked ({report.skipped})"]
    return [f"{report.checked:,} {report.what} checked"]


def describe_checks(checks: list[CheckOutcome]) -> list[str]:
    """Return the phrase about the application checks."""
    if not checks:
        return []
    noun = "application check" if len(checks) == 1 else "application checks"
    return [f"{len(checks)} {noun} passed"]
