"""Helpers of the browser tests: ``backproof serve`` on a demo with a real history, Debian's
Chromium driven by Playwright, and the checks every page gets (console errors, axe-core)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(__file__).parent.parent / "artifacts" / "screenshots"
WIDTHS = {"wide": 1280, "phone": 390}
SERIOUS = ("serious", "critical")
TOKEN = "browser-test-token"


def require_chromium() -> str:
    """Return Debian's Chromium; fail (not skip) with the install hint when it is missing."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: install it with scripts/install-system-deps.sh")
    return CHROMIUM


@dataclass
class PageProblems:
    """What a page said was wrong while the test looked at it."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        """Collect ``page``'s console errors and uncaught exceptions; return the page."""

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"{page.url}: {message.text}")

        def on_error(error: Error) -> None:
            self.errors.append(f"{page.url}: {error.message}")

        page.on("console", on_console)
        page.on("pageerror", on_error)
        return page


@contextmanager
def open_page(
    browser: Browser, problems: PageProblems, width: int = WIDTHS["wide"], **options: Any
) -> Iterator[Page]:
    """Yield a page in a fresh browser context ``width`` pixels wide (cookies of its own)."""
    context: BrowserContext = browser.new_context(
        viewport={"width": width, "height": 900}, **options
    )
    try:
        yield problems.watch(context.new_page())
    finally:
        context.close()


def serious_violations(page: Page) -> list[str]:
    """Run axe-core on ``page``; return its serious and critical violations, one line each.

    The page's context must be opened with ``bypass_csp=True``: the CSP (rightly) refuses the
    injected script otherwise.
    """
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => JSON.stringify(await axe.run(document))")
    violations = json.loads(result)["violations"]
    return [
        f"{item['impact']}: {item['id']}: {item['help']} "
        f"({', '.join(str(node['target']) for node in item['nodes'][:3])})"
        for item in violations
        if item["impact"] in SERIOUS
    ]


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot of ``page`` as ``tests/artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
