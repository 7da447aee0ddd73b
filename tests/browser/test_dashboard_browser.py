"""The dashboard in a real browser (Debian's Chromium through Playwright), against
``backproof serve`` on a demo whose chain the CLI ran: what each page shows is what the audit
trail holds; Verify now runs and shows its result; login, logout and CSRF; no console errors;
axe-core finds no serious violation; screenshots of each page at two widths."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from dashboard_service import (
    TOKEN,
    WIDTHS,
    PageProblems,
    open_page,
    screenshot,
    serious_violations,
)
from playwright.sync_api import Browser, Page, expect

from backproof.archive.catalog import load_manifest
from backproof.config.loading import load_settings
from backproof.demo import DemoLayout
from backproof.jobs.context import Context, open_context
from backproof.state.trail_queries import page_activities
from integration.service.service_processes import ServeProcess

ACTION_SECONDS = 60
# Records each state an action's status goes through; a reload would lose the record.
WATCH_STATES = """() => {
  window.actionStates = [];
  new MutationObserver((changes) => {
    for (const change of changes) window.actionStates.push(change.target.dataset.state);
  }).observe(document.body, {subtree: true, attributeFilter: ["data-state"]});
}"""


@pytest.fixture
def trail(demo_with_history: DemoLayout) -> Iterator[Context]:
    """The demo's audit trail, read as the service reads it."""
    context = open_context(load_settings(demo_with_history.config, environ={}))
    yield context
    context.activities.engine.dispose()


def newest_backup_id(trail: Context) -> str:
    """Return the id of the newest successful backup in the trail."""
    row = trail.activities.latest("backup", "crm", ["success"])
    assert row is not None and row.backup_id is not None
    return row.backup_id


def page_paths(trail: Context) -> dict[str, str]:
    """Return the four pages by name."""
    return {
        "overview": "/",
        "target": "/targets/crm",
        "backup": f"/targets/crm/backups/{newest_backup_id(trail)}",
        "activities": "/activities",
    }


def test_overview_shows_the_target_with_the_newest_backup_of_the_trail(
    browser: Browser, service: ServeProcess, trail: Context, problems: PageProblems
) -> None:
    backup_id = newest_backup_id(trail)
    with open_page(browser, problems) as page:
        page.goto(service.url + "/")

        card = page.locator("article.card", has=page.get_by_role("link", name="crm"))
        expect(card.locator(".badge").first).to_have_text("ok")
        expect(card.locator(f'a[href="/targets/crm/backups/{backup_id}"]')).to_be_visible()
        expect(card).to_contain_text("on local")
        expect(card).to_contain_text("green: newest backup")


def test_times_show_in_local_time_with_utc_on_hover(
    browser: Browser, service: ServeProcess, problems: PageProblems
) -> None:
    with open_page(browser, problems, timezone_id="Asia/Tokyo", locale="en-US") as page:
        page.goto(service.url + "/targets/crm")

        first_time = page.locator("table time").first
        utc_text = first_time.get_attribute("title") or ""
        shown = first_time.inner_text()

    utc = datetime.strptime(utc_text + "+0000", "%Y-%m-%d %H:%M UTC%z")
    tokyo = utc.astimezone(timezone(timedelta(hours=9)))
    assert f"{tokyo.hour % 12 or 12}:{tokyo.minute:02d} {tokyo:%p}" in shown
    assert "UTC" not in shown


def test_target_page_lists_the_backups_and_activities_of_the_trail(
    browser: Browser, service: ServeProcess, trail: Context, problems: PageProblems
) -> None:
    backups = trail.activities.find(job="backup", target="crm", statuses=["success"], limit=30)
    newest = page_activities(trail.activities, target="crm", limit=25)
    with open_page(browser, problems) as page:
        page.goto(service.url + "/targets/crm")

        shown = page.locator("#backups ~ .table-wrap tbody tr td:first-child a").all_inner_texts()
        assert shown == [row.backup_id for row in backups]
        log = page.locator("#log ~ .table-wrap tbody tr td:first-child").all_inner_texts()
        assert [int(text) for text in log] == [row.id for row in newest]
        expect(page.locator(".heatmap .o-passed")).to_have_count(1)
        expect(page.locator("svg.chart")).to_have_count(2)


def test_backup_page_shows_the_manifest_and_the_restore_command(
    browser: Browser, service: ServeProcess, trail: Context, problems: PageProblems
) -> None:
    backup_id = newest_backup_id(trail)
    verifies = trail.activities.find(job="verify", backup_id=backup_id)
    manifest = load_manifest(trail.storage(), "crm", backup_id)
    with open_page(browser, problems) as page:
        page.goto(service.url + f"/targets/crm/backups/{backup_id}")

        expect(page.locator("pre.command")).to_have_text(
            f"backproof restore {backup_id} --target crm --to URL_OF_AN_EMPTY_DATABASE "
            "--files-to EMPTY_FOLDER"
        )
        hashes = page.locator("#parts ~ .table-wrap tbody tr td:last-child").all_inner_texts()
        digests = page.locator("#facts ~ .table-wrap tbody td:nth-child(4)").all_inner_texts()
        rows = page.locator("#verifies ~ .table-wrap tbody tr td:first-child").all_inner_texts()
        assert [int(text) for text in rows] == [row.id for row in verifies]
        expect(page.get_by_role("button", name="Restore")).to_have_count(0)

    assert hashes == [part.sha256 for part in manifest.parts]
    facts = manifest.facts
    assert digests == [facts.digests[name].digest for name in sorted(facts.tables)]


def test_activities_page_shows_the_newest_rows_and_filters_them(
    browser: Browser, service: ServeProcess, trail: Context, problems: PageProblems
) -> None:
    with open_page(browser, problems) as page:
        page.goto(service.url + "/activities")
        ids = page.locator("tbody tr td:first-child").all_inner_texts()
        assert [int(text) for text in ids] == [
            row.id for row in page_activities(trail.activities, limit=50)
        ]

        page.get_by_label("Job").select_option("verify")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r"job=verify"))

        jobs = page.locator("tbody tr td:nth-child(2)").all_inner_texts()
        assert jobs and set(jobs) == {"verify"}


def test_verify_now_shows_running_then_the_result_without_a_reload(
    browser: Browser, service: ServeProcess, trail: Context, problems: PageProblems
) -> None:
    before = trail.activities.find(job="verify", limit=1)[0].id
    with open_page(browser, problems) as page:
        page.goto(service.url + "/targets/crm")
        page.evaluate(WATCH_STATES)
        verify_now = page.get_by_role("button", name="Verify now", exact=True)
        form = page.locator("form[data-action]", has=verify_now).first
        form.get_by_role("button").click()

        status = form.locator("output")
        expect(status).to_have_attribute("data-state", "finished", timeout=ACTION_SECONDS * 1000)
        states = page.evaluate("window.actionStates")
        shown = status.inner_text()

    assert states[0] == "queued"  # shown at once, before the job ran
    assert states[-1] == "finished"  # then the result, in the same page (no reload)

    newest = trail.activities.find(job="verify", limit=1)[0]
    assert newest.id > before
    assert newest.status == "success"
    assert shown == f"verify success: {newest.message}"


def test_login_opens_the_pages_and_logout_closes_them(
    browser: Browser, guarded_service: ServeProcess, problems: PageProblems
) -> None:
    with open_page(browser, problems) as page:
        page.goto(guarded_service.url + "/")
        expect(page).to_have_url(guarded_service.url + "/login")

        page.get_by_label("Token").fill(TOKEN)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(guarded_service.url + "/")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Targets")
        cookie = next(c for c in page.context.cookies() if c["name"] == "backproof_session")
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"

        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(guarded_service.url + "/login")
        page.goto(guarded_service.url + "/activities")
        expect(page).to_have_url(guarded_service.url + "/login")


def test_a_wrong_token_is_refused_on_the_login_page(
    browser: Browser, guarded_service: ServeProcess
) -> None:
    with open_page(browser, PageProblems()) as page:
        page.goto(guarded_service.url + "/login")
        page.get_by_label("Token").fill("not-the-token")
        page.get_by_role("button", name="Log in").click()

        expect(page.get_by_role("alert")).to_have_text("That token is not the one in web.token.")
        assert not [c for c in page.context.cookies() if c["name"] == "backproof_session"]


def test_an_action_without_the_csrf_token_is_refused(
    browser: Browser, guarded_service: ServeProcess, trail: Context
) -> None:
    before = trail.activities.find(limit=1)[0].id
    # The refused request is logged in the console: that is what this test makes happen.
    with open_page(browser, PageProblems()) as page:
        page.goto(guarded_service.url + "/login")
        page.get_by_label("Token").fill(TOKEN)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(guarded_service.url + "/")

        status = page.evaluate(
            "async () => (await fetch('/api/targets/crm/backup', {method: 'POST'})).status"
        )

    assert status == 403
    assert trail.activities.find(limit=1)[0].id == before


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_have_no_serious_accessibility_violations(
    browser: Browser, service: ServeProcess, trail: Context, scheme: str
) -> None:
    found: dict[str, list[str]] = {}
    with open_page(browser, PageProblems(), bypass_csp=True, color_scheme=scheme) as page:
        for name, path in page_paths(trail).items():
            page.goto(service.url + path)
            found[name] = serious_violations(page)

    assert found == {name: [] for name in found}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_renders_without_console_errors_and_is_captured(
    browser: Browser, service: ServeProcess, trail: Context, problems: PageProblems, width: str
) -> None:
    for scheme in ("light", "dark"):
        with open_page(browser, problems, WIDTHS[width], color_scheme=scheme) as page:
            for name, path in page_paths(trail).items():
                page.goto(service.url + path)
                expect(page.get_by_role("main")).to_be_visible()
                assert_fits_the_width(page)
                assert screenshot(page, f"{name}-{width}-{scheme}").stat().st_size > 0


def assert_fits_the_width(page: Page) -> None:
    """Fail when the page scrolls sideways (tables may scroll inside their own frame)."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} is {overflow} px wider than the window"


def test_back_up_now_shows_the_running_backup_on_the_card_then_its_result(
    browser: Browser, service: ServeProcess, demo_with_history: DemoLayout, problems: PageProblems
) -> None:
    # A write transaction on the CRM holds the backup inside its dump until the test commits.
    database = sqlite3.connect(demo_with_history.database, isolation_level=None)
    database.execute("PRAGMA journal_mode=DELETE")
    database.execute("BEGIN EXCLUSIVE")
    try:
        with open_page(browser, problems) as page:
            page.goto(service.url + "/")
            card = page.locator("article.card", has=page.get_by_role("link", name="crm"))
            form = card.locator(
                "form[data-action]", has=page.get_by_role("button", name="Back up now")
            )
            form.get_by_role("button").click()

            running = card.locator("[data-running]")
            expect(running).to_be_visible(timeout=ACTION_SECONDS * 1000)
            expect(running).to_contain_text("running backup")
            expect(form.locator("output")).to_contain_text("backup running for")
            database.execute("ROLLBACK")

            status = form.locator("output")
            expect(status).to_have_attribute(
                "data-state", "finished", timeout=ACTION_SECONDS * 1000
            )
            expect(status).to_contain_text("backup success: backup ")
            expect(running).to_be_hidden(timeout=ACTION_SECONDS * 1000)
    finally:
        if database.in_transaction:
            database.execute("ROLLBACK")
        database.close()
