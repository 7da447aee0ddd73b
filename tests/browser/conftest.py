"""Fixtures of the browser tests: the demo backed up and verified by the CLI, ``backproof
serve`` on it (open on loopback, or with a token), and one Chromium for the whole run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dashboard_service import TOKEN, PageProblems, require_chromium
from playwright.sync_api import Browser, sync_playwright

from backproof.demo import DemoLayout, create_demo
from cli_process import run_backproof
from integration.service.service_processes import ServeProcess

CHAIN_RUNS = 3


@pytest.fixture(scope="module")
def demo_with_history(tmp_path_factory: pytest.TempPathFactory) -> DemoLayout:
    """A demo CRM whose chain ran a few times through the CLI: backups, verifies, a report."""
    demo = create_demo(tmp_path_factory.mktemp("browser") / "crm", companies=40)
    for _ in range(CHAIN_RUNS):
        finished = run_backproof("run", cwd=demo.folder)
        assert finished.returncode == 0, finished.stderr
    return demo


@pytest.fixture(scope="module")
def service(demo_with_history: DemoLayout) -> Iterator[ServeProcess]:
    """``backproof serve`` on the demo, on loopback without a token."""
    process = ServeProcess(demo_with_history.folder, {})
    yield process
    process.terminate()
    process.close()


@pytest.fixture
def guarded_service(demo_with_history: DemoLayout) -> Iterator[ServeProcess]:
    """``backproof serve`` on the demo with ``web.token`` set."""
    process = ServeProcess(demo_with_history.folder, {"BACKPROOF_WEB__TOKEN": TOKEN})
    yield process
    process.terminate()
    process.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (no browser is downloaded).

    Module-scoped, not session-scoped: Playwright's sync API keeps an asyncio loop running in the
    main thread while it is open, and every later test that calls ``asyncio.run`` (the in-process
    HTTP clients of the web tests) would fail with "cannot be called from a running event loop".
    """
    executable = require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable)
        yield chromium
        chromium.close()


@pytest.fixture
def problems() -> Iterator[PageProblems]:
    """Console errors of the pages a test opens; the test fails when there is any."""
    collected = PageProblems()
    yield collected
    assert collected.errors == []
