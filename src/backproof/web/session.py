"""Browser sessions of the dashboard: a random id in an HttpOnly, SameSite=Strict cookie.

With ``web.token`` set, ``/login`` opens a session for whoever gives the token; without a token
(loopback only) the first page opens one by itself. Either way every session carries a CSRF
token that each action must send back, so another site open in the same browser cannot
trigger a backup through a form aimed at the service. Sessions live in the service's memory:
a restart logs everyone out, and logout forgets the session at once.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from backproof.web.security import is_token_valid

SESSION_COOKIE = "backproof_session"
SESSION_LIFETIME = timedelta(hours=12)
MAX_SESSIONS = 1000


@dataclass(frozen=True)
class Session:
    """One browser's session: who may act and the CSRF token it must send back."""

    id: str
    csrf_token: str
    authenticated: bool
    expires_at: datetime

    def accepts_csrf(self, given: str | None) -> bool:
        """Return True when ``given`` is this session's CSRF token (constant time)."""
        return given is not None and is_token_valid(given, self.csrf_token)


class SessionStore:
    """The open sessions of this process."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, now: datetime, *, authenticated: bool) -> Session:
        """Return a new session valid for ``SESSION_LIFETIME`` from ``now``."""
        session = Session(
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(32),
            authenticated,
            now + SESSION_LIFETIME,
        )
        with self._lock:
            self._forget_expired(now)
            if len(self._sessions) >= MAX_SESSIONS:
                del self._sessions[min(self._sessions, key=lambda k: self._sessions[k].expires_at)]
            self._sessions[session.id] = session
        return session

    def find(self, session_id: str | None, now: datetime) -> Session | None:
        """Return the live session of a cookie's value, None when unknown or expired."""
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None or session.expires_at <= now:
            return None
        return session

    def close(self, session_id: str | None) -> None:
        """Forget a session (logout)."""
        with self._lock:
            self._sessions.pop(session_id or "", None)

    def _forget_expired(self, now: datetime) -> None:
        for key in [key for key, item in self._sessions.items() if item.expires_at <= now]:
            del self._sessions[key]
