"""``backproof keys …``: the manifest signing key, seen from the command line."""

from __future__ import annotations

import click

from backproof.cli.main import Invocation, cli, emit, pass_invocation


@cli.group()
def keys() -> None:
    """The Ed25519 key that signs every manifest (see docs/security.md)."""


@keys.command(name="show")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_invocation
def show_command(invocation: Invocation, as_json: bool) -> int:
    """Print the public key (for encryption.verify_key on a host that only verifies).

    Exit 1 when there is no key yet (the first backup generates it).
    """
    from backproof.jobs.keyring import show_key  # noqa: PLC0415 - cryptography on demand

    context = invocation.context()
    shown = show_key(context.settings, context.activities.engine)
    emit(shown.to_json(), shown.public_key, as_json)
    if not as_json:
        click.echo(f"fingerprint {shown.fingerprint} ({shown.source})", err=True)
    return 0
