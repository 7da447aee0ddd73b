"""The pure parts of the dead man's switch: its URLs and the body of its pings."""

from __future__ import annotations

from dataclasses import dataclass

from backproof.alerts.deadman import DeadManSwitch, ping_url, summarize_steps
from backproof.errors import SourceError


@dataclass
class Step:
    job: str
    error: Exception | None = None
    skipped_because: str | None = None


def test_ping_url_appends_the_suffix_to_the_path() -> None:
    assert ping_url("https://hc-ping.com/abc/", "start") == "https://hc-ping.com/abc/start"


def test_ping_url_keeps_the_query() -> None:
    assert ping_url("https://hc.example/ping/abc?create=1", "fail") == (
        "https://hc.example/ping/abc/fail?create=1"
    )


def test_ping_url_without_suffix_is_the_success_ping() -> None:
    assert ping_url("https://hc-ping.com/abc", "") == "https://hc-ping.com/abc"


def test_summary_names_every_step_and_masks_secrets() -> None:
    steps = [
        Step("backup", SourceError("cannot reach postgresql://u:pw@db/crm")),
        Step("verify", skipped_because="the backup failed"),
        Step("health"),
    ]

    assert summarize_steps("crm", steps) == (
        "backproof run of crm\n"
        "backup: failed: cannot reach postgresql://u:***@db/crm\n"
        "verify: skipped (the backup failed)\n"
        "health: ok"
    )


def test_switch_without_url_pings_nothing() -> None:
    switch = DeadManSwitch(None)
    assert switch.is_noop
    assert switch.start() is None
    assert switch.finish(succeeded=False) is None


def test_switch_refuses_a_url_that_is_not_http() -> None:
    assert DeadManSwitch("file:///etc/passwd").start() == (
        "the healthcheck URL must be an http:// or https:// URL with a host"
    )
