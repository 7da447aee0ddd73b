"""``backproof alert …``: the alert channels, seen from the command line."""

from __future__ import annotations

import click

from backproof.cli.main import Invocation, cli, emit, pass_invocation
from backproof.errors import ConfigError


@cli.group()
def alert() -> None:
    """Alerts: Slack, e-mail, Apprise and the dead man's switch."""


@alert.command(name="test")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_invocation
def test_command(invocation: Invocation, as_json: bool) -> int:
    """Send a test message through every configured channel; say which worked.

    Exit 0 when every channel worked, 1 when one failed, 2 when none is configured.
    """
    from backproof.alerts.probe import is_anything_configured, probe_channels  # noqa: PLC0415

    if not is_anything_configured(invocation.settings().alerts):
        raise ConfigError(
            [
                "at alerts: no channel is configured (set alerts.slack.webhook_url or "
                "ALERT_SLACK_WEBHOOK, [alerts.email], alerts.apprise or alerts.healthcheck_url)"
            ]
        )
    context = invocation.context()
    results = probe_channels(context.settings, context.activities)
    lines = [
        f"{item.channel}: {'ok' if item.worked else 'FAILED: ' + str(item.error)}"
        for item in results
    ]
    worked = all(item.worked for item in results)
    document = {"worked": worked, "channels": [item.to_json() for item in results]}
    emit(document, "\n".join(lines), as_json)
    return 0 if worked else 1
