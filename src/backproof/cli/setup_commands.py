"""``backproof setup …``: what an administrator sets up around backproof, printed, never run."""

from __future__ import annotations

import click

from backproof.cli.commands import JSON_OPTION
from backproof.cli.main import Invocation, cli, pass_invocation, target_lookup
from backproof.errors import UsageError


@cli.group()
def setup() -> None:
    """Print what to set up around backproof (nothing is changed)."""


@setup.command(name="verify-user")
@click.option("--target", help="Target whose verify server it is (default: the first).")
@click.option("--user", help="Name of the user (default: backproof_verify).")
@click.option(
    "--print", "print_only", is_flag=True, default=True, help="Print the SQL (the only mode)."
)
@JSON_OPTION
@pass_invocation
def verify_user(
    invocation: Invocation, target: str | None, user: str | None, print_only: bool, as_json: bool
) -> None:
    """Print the SQL that makes a least-privileged verify user, and the config lines.

    The user may create, fill and drop ``verify_…`` databases and nothing else. Run the SQL as
    an administrator of the verify server; backproof itself never creates users.
    """
    import json  # noqa: PLC0415 - a light --help (issue 12)
    import secrets  # noqa: PLC0415

    from backproof.sources.registry import open_server  # noqa: PLC0415 - a light --help
    from backproof.sources.server_urls import parse_server_url  # noqa: PLC0415
    from backproof.sources.verify_users import DEFAULT_USER, PASSWORD_VARIABLE  # noqa: PLC0415
    from backproof.web.security import is_loopback_host  # noqa: PLC0415

    del print_only  # printing is all this command does
    settings = invocation.settings()
    target_lookup(settings, target)
    chosen = next(item for item in settings.targets if target in (None, item.name))
    url = settings.verify.url or chosen.database
    if url is None:
        raise UsageError(f"target {chosen.name} has no database: no user to set up")
    server = parse_server_url(url)
    client_host = "127.0.0.1" if is_loopback_host(server.host or "localhost") else "%"
    password = secrets.token_urlsafe(18)
    name = user or DEFAULT_USER
    script = open_server(url).verify_user_script(name, password, client_host)
    where = server.with_database(None).label
    if as_json:
        document = {
            "server": where,
            "user": name,
            "sql": script.sql,
            "config": script.config,
            "environment": {PASSWORD_VARIABLE: password},
        }
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    click.echo(f"-- run as an administrator of {where} (nothing has been run):")
    click.echo(script.sql)
    click.echo("# then in backproof.toml:")
    click.echo(script.config)
    click.echo("# and in the environment of backproof (keep it out of the file):")
    click.echo(f"# {PASSWORD_VARIABLE}={password}")
