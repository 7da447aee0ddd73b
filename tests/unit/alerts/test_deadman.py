"""The pure parts of the dead man's switch: its URLs, and pinging nothing without one."""

from __future__ import annotations

from backproof.alerts.deadman import DeadManSwitch, ping_url


def test_ping_url_appends_the_suffix_to_the_path() -> None:
    assert ping_url("https://hc-ping.com/abc/", "start") == "https://hc-ping.com/abc/start"


def test_ping_url_keeps_the_query() -> None:
    assert ping_url("https://hc.example/ping/abc?create=1", "fail") == (
        "https://hc.example/ping/abc/fail?create=1"
    )


def test_ping_url_without_suffix_is_the_success_ping() -> None:
    assert ping_url("https://hc-ping.com/abc", "") == "https://hc-ping.com/abc"


def test_switch_without_url_pings_nothing() -> None:
    switch = DeadManSwitch(None)
    assert switch.is_noop
    assert switch.start() is None
    assert switch.finish(succeeded=False) is None


def test_switch_refuses_a_url_that_is_not_http() -> None:
    assert DeadManSwitch("file:///etc/passwd").start() == (
        "the healthcheck URL must be an http:// or https:// URL with a host"
    )
