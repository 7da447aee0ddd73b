"""``check``: the parts of every kept backup on every destination, checked without a restore."""

from __future__ import annotations

import click

from backproof.cli.commands import (
    JSON_OPTION,
    TARGET_OPTION,
    checked_context,
    run_for_targets,
    show_outcomes,
)
from backproof.cli.main import Invocation, cli, pass_invocation


@cli.command(name="check")
@TARGET_OPTION
@click.option("--read-data", is_flag=True, help="Read every part whole and compare its sha256.")
@click.option(
    "--subset",
    "subset_percent",
    type=click.FloatRange(0, 100, min_open=True),
    metavar="PCT",
    help="Read PCT %% of the parts whole, a different share each day.",
)
@JSON_OPTION
@pass_invocation
def check_command(
    invocation: Invocation,
    target: str | None,
    read_data: bool,
    subset_percent: float | None,
    as_json: bool,
) -> int:
    """Check sizes (and with --read-data checksums) of every kept backup's parts; no restore."""
    from backproof.jobs.scrub import describe_scrub, run_scrub  # noqa: PLC0415 - light --help

    context = checked_context(invocation, target)
    outcomes = run_for_targets(
        context,
        target,
        lambda name: run_scrub(context, name, read_data=read_data, subset_percent=subset_percent),
    )
    return show_outcomes(
        outcomes,
        lambda result: click.echo(f"check passed: {result.target}: {describe_scrub(result)}"),
        "check" if as_json else None,
    )
