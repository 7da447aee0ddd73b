"""``health`` (evaluate and record the verdict) and ``health ack`` (settle known failures)."""

from __future__ import annotations

import click

from backproof.cli import render
from backproof.cli.commands import JSON_OPTION, TARGET_OPTION, checked_context
from backproof.cli.main import Invocation, cli, emit, pass_invocation


@cli.group(invoke_without_command=True)
@TARGET_OPTION
@JSON_OPTION
@click.pass_context
def health(click_context: click.Context, target: str | None, as_json: bool) -> int | None:
    """Evaluate health; exit 0 when ok or pending, 1 when warning or failing."""
    if click_context.invoked_subcommand is not None:
        return None
    from backproof.jobs.health import run_health  # noqa: PLC0415

    invocation = click_context.find_object(Invocation)
    assert invocation is not None  # noqa: S101 - set by the root group
    result = run_health(checked_context(invocation, target), target)
    emit(result.to_json(), render.render_health(result), as_json)
    return 0 if result.is_healthy else 1


@health.command(name="ack")
@TARGET_OPTION
@click.option("--reason", required=True, help="Why the failures so far are settled (recorded).")
@JSON_OPTION
@pass_invocation
def health_ack(invocation: Invocation, target: str | None, reason: str, as_json: bool) -> None:
    """Acknowledge the failures up to now: success rates and streaks count from here."""
    from backproof.jobs.health import acknowledge_failures  # noqa: PLC0415

    acknowledgements = acknowledge_failures(checked_context(invocation, target), target, reason)
    emit(
        {"acknowledgements": [item.to_json() for item in acknowledgements]},
        "\n".join(
            f"acknowledged {item.failed_runs} failed run(s) of {item.activity.target}: "
            "success rates count from now"
            for item in acknowledgements
        ),
        as_json,
    )
