"""Who may bind where, and who may read: the bearer token of ``web.token``.

Without a token the service binds only to loopback, where every reader is on the machine
already; binding beyond it (``0.0.0.0``, a LAN address, a host name) requires a token, and the
token is then required on every endpoint but ``/healthz``. Tokens are compared in constant time.

The token is enforced twice: by ``TokenMiddleware`` in front of the whole app (every path, the
OpenAPI document, unknown paths and FastAPI's trailing-slash redirects included, so nothing is
answered before authentication; a dashboard session from ``/login`` is admitted there too) and by
the one dependency of each route, ``web.access.Access.require_reader`` (which also puts the
bearer scheme and the 401 answer into the OpenAPI document).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Iterable

from fastapi.security import HTTPBearer
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from backproof.errors import UsageError

LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")

PUBLIC_PATHS = frozenset({"/healthz"})

UNAUTHORIZED_RESPONSE: dict[int | str, dict[str, object]] = {
    401: {"description": "the bearer token is missing or wrong (only with `web.token` set)"}
}

bearer_scheme = HTTPBearer(auto_error=False, description="the value of `web.token`")


def is_loopback_host(host: str) -> bool:
    """Return True when ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: SecretStr | None) -> None:
    """Refuse to listen beyond loopback without a token.

    Raises UsageError when ``host`` is not loopback and no (non-empty) token is configured.
    """
    if is_loopback_host(host):
        return
    if token is None or not token.get_secret_value():
        raise UsageError(
            f"refusing to listen on {host!r} without a token: set web.token "
            "(or BACKPROOF_WEB__TOKEN) to serve beyond 127.0.0.1"
        )


def is_token_valid(given: str, expected: str) -> bool:
    """Return True when ``given`` equals ``expected``, compared in constant time."""
    return hmac.compare_digest(given.encode(), expected.encode())


def is_bearer_header_valid(header: bytes | None, expected: str) -> bool:
    """Return True when the ``Authorization`` header ``header`` carries ``Bearer <expected>``."""
    if header is None:
        return False
    scheme, _, credentials = header.decode("latin-1").partition(" ")
    return scheme.lower() == "bearer" and is_token_valid(credentials.strip(), expected)


class TokenMiddleware:
    """Answer 401 to every HTTP request without the token, except on ``public_paths``.

    ``admits`` may let more requests through (the dashboard's session cookie); a browser's page
    request without either is sent to ``/login``.

    It runs before routing, so no answer (a 404, a redirect, the OpenAPI document) reveals
    anything to a caller without the token. With no token configured it passes everything.
    """

    def __init__(
        self,
        app: ASGIApp,
        token: SecretStr | None,
        public_paths: Iterable[str] = PUBLIC_PATHS,
        public_prefixes: tuple[str, ...] = (),
        admits: Callable[[Scope], bool] | None = None,
    ) -> None:
        self.app = app
        self.expected = token.get_secret_value() if token is not None else ""
        self.public_paths = frozenset(public_paths)
        self.public_prefixes = public_prefixes
        self.admits = admits

    def _is_public(self, path: str) -> bool:
        return path in self.public_paths or path.startswith(self.public_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on when it is public or authorized; answer 401 otherwise."""
        if scope["type"] != "http" or not self.expected or self._is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if is_bearer_header_valid(headers.get(b"authorization"), self.expected) or (
            self.admits is not None and self.admits(scope)
        ):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "GET" and b"text/html" in headers.get(b"accept", b""):
            # A browser without a session: the login page (it reveals nothing of the app).
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [(b"location", b"/login")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send(
            {"type": "http.response.body", "body": b'{"detail":"a valid bearer token is required"}'}
        )
