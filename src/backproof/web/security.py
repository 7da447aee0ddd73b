"""Who may bind where, and who may read: the bearer token of ``web.token``.

Without a token the service binds only to loopback, where every reader is on the machine
already; binding beyond it (``0.0.0.0``, a LAN address, a host name) requires a token, and the
token is then required on every endpoint but ``/healthz``. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from backproof.errors import UsageError

LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")

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


def token_guard(token: SecretStr | None) -> Callable[[HTTPAuthorizationCredentials | None], None]:
    """Return a FastAPI dependency that requires ``Authorization: Bearer <token>``.

    With no token configured the dependency lets every request through.
    """

    def require_token(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),  # noqa: B008
    ) -> None:
        if token is None or not token.get_secret_value():
            return
        if credentials is None or not is_token_valid(
            credentials.credentials, token.get_secret_value()
        ):
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="a valid bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return require_token
