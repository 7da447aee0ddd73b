"""Who may read and act: one dependency for every endpoint but ``/healthz``.

A request may read when no token is configured (loopback only), when it carries
``Authorization: Bearer <web.token>``, or when its session cookie belongs to a session opened
by ``/login``. Pages answer a reader without either by sending them to ``/login``; the API and
metrics answer 401. An action also needs the session's CSRF token (header ``X-CSRF-Token`` or
form field ``csrf_token``) unless it carries the bearer token, which a browser never adds by
itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qs

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import SecretStr
from starlette.types import Scope

from backproof.web.security import bearer_scheme, is_loopback_host, is_token_valid
from backproof.web.session import SESSION_COOKIE, Session, SessionStore

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class LoginRequiredError(Exception):
    """A page was asked for without a session: the answer is the login page."""


class Access:
    """The token, the sessions, and the checks built on them."""

    def __init__(self, token: SecretStr | None, clock: Callable[[], datetime]) -> None:
        secret = token.get_secret_value() if token is not None else ""
        self.token = secret or None
        self.clock = clock
        self.sessions = SessionStore()

    @property
    def is_open(self) -> bool:
        """Return True when no token is configured: every loopback reader may read."""
        return self.token is None

    def has_bearer(self, request: Request) -> bool:
        """Return True when the request carries ``Authorization: Bearer <web.token>``."""
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return (
            self.token is not None
            and scheme.lower() == "bearer"
            and is_token_valid(given.strip(), self.token)
        )

    def session(self, request: Request) -> Session | None:
        """Return the live session of the request's cookie, None without one."""
        found = self.sessions.find(request.cookies.get(SESSION_COOKIE), self.clock())
        if found is None or (not self.is_open and not found.authenticated):
            return None
        return found

    def admits(self, scope: Scope) -> bool:
        """Return True when the request of ``scope`` has a live session (for the middleware)."""
        return self.session(Request(scope)) is not None

    def require_reader(
        self,
        request: Request,
        _credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),  # noqa: B008
    ) -> None:
        """The dependency of the API and metrics: 401 unless the request may read.

        ``_credentials`` puts the bearer scheme into the OpenAPI document.
        """
        if self.is_open or self.has_bearer(request) or self.session(request) is not None:
            return
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="a valid bearer token or a session from /login is required",
            headers={"WWW-Authenticate": "Bearer"},
        )

    def require_loopback_name(self, request: Request) -> None:
        """The dependency of the dashboard: without a token, answer only to a loopback name.

        A page of another site can make a browser resolve its own name to 127.0.0.1 (DNS
        rebinding) and then read and act as if it were this service's origin; asking for
        ``Host: 127.0.0.1`` (or ``localhost``, ``[::1]``) shuts that door. With a token the
        session does.
        """
        if not self.is_open or is_loopback_host(request.url.hostname or ""):
            return
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "without web.token the dashboard answers only at 127.0.0.1, localhost or [::1]",
        )

    def page_session(self, request: Request) -> Session:
        """The dependency of pages: the reader's session, opened at once when no token is set.

        Raises LoginRequiredError when a token is configured and the request has no session.
        """
        found = self.session(request)
        if found is not None:
            return found
        if not self.is_open:
            raise LoginRequiredError
        opened = self.sessions.open(self.clock(), authenticated=False)
        request.state.new_session = opened
        return opened

    async def require_actor(self, request: Request) -> None:
        """The dependency of actions: the bearer token, or a session and its CSRF token."""
        if self.has_bearer(request):
            return
        found = self.session(request)
        if found is None:
            self.require_reader(request)  # raises 401 when a token is configured
            raise HTTPException(status.HTTP_403_FORBIDDEN, "no session: load a page first")
        if not found.accepts_csrf(await _csrf_token_of(request)):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")


async def _csrf_token_of(request: Request) -> str | None:
    given = request.headers.get(CSRF_HEADER)
    if given:
        return given
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        fields = parse_qs((await request.body()).decode("utf-8", "replace"))
        values = fields.get(CSRF_FIELD)
        return values[0] if values else None
    return None
