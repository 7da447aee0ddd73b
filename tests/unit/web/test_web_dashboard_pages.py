"""The dashboard's pages and their JSON twins against a real state database."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from web_history import NOW, add_good_day, add_run
from web_session_client import SessionClient

from backproof.jobs.context import Context
from backproof.web.app import create_app
from hand_clock import HandClock


def test_overview_page_shows_each_target_with_its_newest_backup_and_proof(
    web_context: Context, clock: HandClock
) -> None:
    backup_id = add_good_day(web_context, clock, NOW - timedelta(hours=5))

    response = SessionClient(create_app(web_context)).get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<a href="/targets/crm">crm</a>' in response.text
    assert f"/targets/crm/backups/{backup_id}" in response.text
    assert "2.0 kB on local, offsite" in response.text
    assert "green: newest backup 4 h 59 min old" in response.text


def test_overview_json_is_what_the_page_shows(web_context: Context, clock: HandClock) -> None:
    backup_id = add_good_day(web_context, clock, NOW - timedelta(hours=5))

    document = SessionClient(create_app(web_context)).get("/api/overview").json()

    card = document["targets"][0]
    assert card["target"] == "crm"
    assert card["newest_backup"]["id"] == backup_id
    assert card["last_proof"]["backup_id"] == backup_id
    assert card["last_proof"]["restore_duration_seconds"] == 12.5
    assert card["rpo"]["light"] == "green"
    assert card["rpo"]["age_hours"] == pytest.approx(5 - 30 / 3600)  # finished 30 s after start
    assert card["rpo"]["threshold_hours"] == 24.0


def test_overview_shows_the_reasons_of_a_target_whose_backups_fail(
    web_context: Context, clock: HandClock
) -> None:
    add_run(web_context, clock, "backup", "failed", NOW - timedelta(hours=30))

    text = SessionClient(create_app(web_context)).get("/").text

    assert '<span class="badge s-warning">warning</span>' in text
    assert "<li>0.0 % of 1 runs in 7 d succeeded (&lt; 99 %)</li>" in text
    assert "<li>no committed backup yet</li>" in text


def test_target_page_lists_backups_calendar_checks_and_log_from_the_trail(
    web_context: Context, clock: HandClock
) -> None:
    first = add_good_day(web_context, clock, NOW - timedelta(days=2))
    second = add_good_day(web_context, clock, NOW - timedelta(days=1))
    add_run(web_context, clock, "verify", "failed", NOW - timedelta(hours=2), backup_id=second)

    client = SessionClient(create_app(web_context))
    text = client.get("/targets/crm").text
    document = client.get("/api/targets/crm").json()

    assert [row["id"] for row in document["backups"]] == [second, first]
    assert document["calendar"][-1]["outcome"] == "failed"
    assert document["calendar"][-2]["outcome"] == "passed"
    assert document["calendar"][-3]["outcome"] == "passed"
    assert len(document["calendar"]) == 90
    assert [point["value"] for point in document["size_trend"]] == [2000.0, 2000.0]
    for backup_id in (first, second):
        assert f"/targets/crm/backups/{backup_id}" in text
    assert "verify_streak" in text
    assert text.count('<span class="day o-passed"') == 3  # two days and the legend
    assert "Restore duration of the passed verifies of crm" in text


def test_target_page_answers_404_for_an_unknown_target(web_context: Context) -> None:
    client = SessionClient(create_app(web_context))

    assert client.get("/targets/nope").status_code == 404
    assert client.get("/api/targets/nope").status_code == 404


def test_activities_page_filters_by_job_and_status(web_context: Context, clock: HandClock) -> None:
    add_good_day(web_context, clock, NOW - timedelta(days=1))
    add_run(web_context, clock, "verify", "failed", NOW - timedelta(hours=2))

    client = SessionClient(create_app(web_context))
    rows = client.get("/api/activities?job=verify&status=failed").json()["rows"]
    text = client.get("/activities?job=verify&status=failed").text

    assert [(row["job"], row["status"]) for row in rows] == [("verify", "failed")]
    assert text.count('class="badge s-failed"') == 1


def test_activities_pages_through_the_trail_with_before_id(
    web_context: Context, clock: HandClock
) -> None:
    for day in range(12):
        add_good_day(web_context, clock, NOW - timedelta(days=day + 1))

    client = SessionClient(create_app(web_context))
    first = client.get("/api/activities").json()
    second = client.get(f"/api/activities?before_id={first['older_before_id']}").json()

    assert len(first["rows"]) == 50
    assert len(second["rows"]) == 10
    assert second["older_before_id"] is None
    rows = first["rows"] + second["rows"]
    assert sorted(row["id"] for row in rows) == list(range(1, 61))  # each row once
    starts = [(row["started_at"], row["id"]) for row in rows]
    assert starts == sorted(starts, reverse=True)  # newest first across both pages


def test_activities_refuses_an_unknown_filter_with_one_line(web_context: Context) -> None:
    client = SessionClient(create_app(web_context))

    page = client.get("/activities?job=dance")
    api = client.get("/api/activities?period=forever")

    assert page.status_code == 400
    assert "unknown job &#39;dance&#39;" in page.text
    assert api.status_code == 422
    assert api.json()["detail"].startswith("unknown period 'forever'")


def test_running_jobs_are_listed_first_on_the_activities_page(
    web_context: Context, clock: HandClock
) -> None:
    add_good_day(web_context, clock, NOW - timedelta(days=1))
    clock.now = NOW - timedelta(seconds=20)
    web_context.activities.start("backup", "crm")
    clock.now = NOW

    client = SessionClient(create_app(web_context))
    text = client.get("/activities").text
    running = client.get("/api/running").json()

    assert text.index("Running now") < text.index("The audit trail")
    assert running[0]["job"] == "backup"
    assert running[0]["elapsed_seconds"] == 20.0
    assert running[0]["expected_seconds"] == 30.0
    assert running[0]["progress_ratio"] == 20 / 30


def test_times_are_marked_for_the_browser_in_utc(web_context: Context, clock: HandClock) -> None:
    add_good_day(web_context, clock, NOW - timedelta(hours=5))

    text = SessionClient(create_app(web_context)).get("/").text

    assert re.search(
        r'<time datetime="2026-11-26T01:00:30\+00:00" title="2026-11-26 01:00:30 UTC">', text
    )


def test_openapi_document_describes_the_dashboard_api(web_context: Context) -> None:
    paths = SessionClient(create_app(web_context)).get("/api/openapi.json").json()["paths"]

    for path in (
        "/api/overview",
        "/api/running",
        "/api/targets/{name}",
        "/api/targets/{name}/backups/{backup_id}",
        "/api/activities",
        "/api/targets/{name}/backup",
        "/api/targets/{name}/verify",
        "/api/actions/{action_id}",
    ):
        assert path in paths
    assert "/" not in paths
    assert "/login" not in paths


@pytest.mark.parametrize(("age_hours", "light"), [(1.0, "green"), (20.0, "amber"), (30.0, "red")])
def test_rpo_light_turns_amber_near_the_limit_and_red_past_it(
    web_context: Context, clock: HandClock, age_hours: float, light: str
) -> None:
    add_good_day(web_context, clock, NOW - timedelta(hours=age_hours))

    card = SessionClient(create_app(web_context)).get("/api/overview").json()["targets"][0]

    assert card["rpo"]["light"] == light
