"""Who may read and act on the dashboard: login, session cookie, CSRF, bearer, headers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from web_history import NOW, make_settings
from web_session_client import SessionClient

from backproof.jobs.context import Context, open_context
from backproof.scheduler.actions import Action, ActionJob
from backproof.web.app import create_app
from backproof.web.session import SESSION_LIFETIME
from hand_clock import HandClock

TOKEN = "s3cret-token"


class RecordingQueue:
    """An action queue that records what was asked (the scheduler's own is tested apart)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str | None]] = []

    def submit(self, job: ActionJob, target: str, backup_id: str | None = None) -> Action:
        self.asked.append((job, target, backup_id))
        return Action(f"a{len(self.asked)}", job, target, backup_id, NOW)

    def get(self, action_id: str) -> Action | None:
        return None


@pytest.fixture
def guarded_context(tmp_path: Path, clock: HandClock) -> Iterator[Context]:
    context = open_context(make_settings(tmp_path, web={"token": TOKEN}), clock)
    yield context
    context.activities.engine.dispose()


def logged_in(client: SessionClient) -> str:
    """Log ``client`` in; return the CSRF token of its session, read from a page."""
    response = client.post("/login", data={"token": TOKEN})
    assert response.status_code == 303
    page = client.get("/").text
    return page.split('name="csrf-token" content="')[1].split('"')[0]


def test_pages_send_to_login_without_a_session_when_a_token_is_set(
    guarded_context: Context,
) -> None:
    client = SessionClient(create_app(guarded_context))

    for path in ("/", "/targets/crm", "/activities"):
        response = client.get(path, headers={"Accept": "text/html,*/*"})
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
        assert client.get(path).status_code == 401  # a script is told, not redirected


def test_login_sets_an_httponly_strict_cookie_that_opens_the_pages(
    guarded_context: Context,
) -> None:
    client = SessionClient(create_app(guarded_context))

    response = client.post("/login", data={"token": TOKEN})

    cookie = response.headers["set-cookie"]
    assert cookie.startswith("backproof_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert client.get("/").status_code == 200
    assert client.get("/api/overview").status_code == 200


def test_login_refuses_a_wrong_token_with_401_and_no_cookie(guarded_context: Context) -> None:
    client = SessionClient(create_app(guarded_context))

    response = client.post("/login", data={"token": "guess"})

    assert response.status_code == 401
    assert "set-cookie" not in response.headers
    assert "That token is not the one in web.token." in response.text
    assert client.get("/").status_code == 401


def test_logout_ends_the_session(guarded_context: Context) -> None:
    client = SessionClient(create_app(guarded_context))
    csrf = logged_in(client)
    cookie = client.cookies["backproof_session"]

    response = client.post("/logout", data={"csrf_token": csrf})

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.get("/").status_code == 401
    replayed = SessionClient(client.app)
    replayed.cookies.set("backproof_session", cookie)
    assert replayed.get("/api/overview").status_code == 401


def test_api_answers_401_not_a_redirect_without_credentials(guarded_context: Context) -> None:
    client = SessionClient(create_app(guarded_context))

    response = client.get("/api/overview")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_bearer_token_still_reads_the_api_and_metrics(guarded_context: Context) -> None:
    client = SessionClient(create_app(guarded_context))
    bearer = {"Authorization": f"Bearer {TOKEN}"}

    assert client.get("/api/overview", headers=bearer).status_code == 200
    assert client.get("/crm/ops/metrics", headers=bearer).status_code == 200


def test_action_without_csrf_token_is_refused(guarded_context: Context) -> None:
    queue = RecordingQueue()
    client = SessionClient(create_app(guarded_context, actions=queue))
    logged_in(client)

    response = client.post("/api/targets/crm/verify")

    assert response.status_code == 403
    assert response.json()["detail"] == "missing or wrong CSRF token"
    assert queue.asked == []


def test_action_with_the_session_csrf_token_is_queued(guarded_context: Context) -> None:
    queue = RecordingQueue()
    client = SessionClient(create_app(guarded_context, actions=queue))
    csrf = logged_in(client)

    response = client.post(
        "/api/targets/crm/verify?backup_id=20261126T010000Z-abc123",
        headers={"X-CSRF-Token": csrf},
    )

    assert response.status_code == 202
    assert response.json()["state"] == "queued"
    assert queue.asked == [("verify", "crm", "20261126T010000Z-abc123")]


def test_action_with_the_bearer_token_needs_no_csrf(guarded_context: Context) -> None:
    queue = RecordingQueue()
    client = SessionClient(create_app(guarded_context, actions=queue))

    response = client.post("/api/targets/crm/backup", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 202
    assert queue.asked == [("backup", "crm", None)]


def test_loopback_without_token_opens_pages_but_actions_still_need_csrf(
    web_context: Context,
) -> None:
    queue = RecordingQueue()
    client = SessionClient(create_app(web_context, actions=queue))

    page = client.get("/")
    refused = SessionClient(client.app).post("/api/targets/crm/backup")
    csrf = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    accepted = client.post("/api/targets/crm/backup", data={"csrf_token": csrf})

    assert page.status_code == 200
    assert refused.status_code == 403
    assert accepted.status_code == 303  # a form post without script goes back to the target
    assert queue.asked == [("backup", "crm", None)]


def test_action_on_an_unknown_target_answers_404(web_context: Context) -> None:
    queue = RecordingQueue()
    client = SessionClient(create_app(web_context, actions=queue))
    csrf = client.get("/").text.split('name="csrf-token" content="')[1].split('"')[0]

    response = client.post("/api/targets/nope/backup", headers={"X-CSRF-Token": csrf})

    assert response.status_code == 404
    assert queue.asked == []


def test_pages_carry_a_csp_without_inline_script_and_are_not_cached(
    web_context: Context,
) -> None:
    client = SessionClient(create_app(web_context))

    for path in ("/", "/api/overview", "/crm/ops/metrics"):
        headers = client.get(path).headers
        assert "script-src 'self';" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"
    assert client.get("/static/dashboard.js").headers["cache-control"].startswith("public")


def test_pages_hold_no_inline_script(web_context: Context) -> None:
    text = SessionClient(create_app(web_context)).get("/").text

    assert '<script src="/static/dashboard.js" defer></script>' in text
    assert text.count("<script") == 1
    assert " style=" not in text


def test_sessions_expire_after_their_lifetime(guarded_context: Context, clock: HandClock) -> None:
    client = SessionClient(create_app(guarded_context))
    logged_in(client)

    clock.now = NOW + SESSION_LIFETIME + timedelta(seconds=1)

    assert client.get("/").status_code == 401


def test_without_token_the_dashboard_refuses_a_name_that_is_not_loopback(
    web_context: Context,
) -> None:
    client = SessionClient(create_app(web_context, actions=RecordingQueue()))
    rebound = {"Host": "attacker.example:9187"}

    assert client.get("/", headers=rebound).status_code == 403
    assert client.get("/api/overview", headers=rebound).status_code == 403
    assert client.post("/api/targets/crm/backup", headers=rebound).status_code == 403
    for name in ("127.0.0.1:9187", "localhost:9187", "[::1]:9187"):
        assert client.get("/", headers={"Host": name}).status_code == 200


def test_with_a_token_the_dashboard_answers_any_name_after_login(
    guarded_context: Context,
) -> None:
    client = SessionClient(create_app(guarded_context))
    logged_in(client)

    assert client.get("/", headers={"Host": "backups.example.org"}).status_code == 200
