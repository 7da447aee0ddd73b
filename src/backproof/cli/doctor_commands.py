"""``backproof doctor``: check a configuration without changing anything (issue 9 item 10)."""

from __future__ import annotations

import os

import click

from backproof.cli.main import Invocation, cli, emit, pass_invocation


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_invocation
def doctor(invocation: Invocation, as_json: bool) -> int:
    """Check targets, destinations, tools, the verify user, signing, git, space and the clock.

    Changes nothing. One line per check (✓ ok, ! warning, ✗ failed); exit 1 when one failed.
    """
    from backproof.config.loading import find_config_path, load_settings  # noqa: PLC0415
    from backproof.doctor.run import run_doctor  # noqa: PLC0415 - drivers load on demand

    # The safety rules are checks of their own here: a config they refuse is still examined.
    path = find_config_path(invocation.config, os.environ)
    result = run_doctor(load_settings(path))
    emit(result.to_json(), "\n".join(check.line() for check in result.checks), as_json)
    return 1 if result.has_failed else 0
