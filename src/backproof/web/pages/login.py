"""``/login`` (one field, ``token``) and ``/logout``: the session of a browser.

Only served when ``web.token`` is set; without a token there is nothing to log in with.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backproof.web.access import CSRF_FIELD, Access
from backproof.web.rendering import render_page, set_session_cookie
from backproof.web.security import is_token_valid
from backproof.web.session import SESSION_COOKIE


def build_login(access: Access) -> APIRouter:
    """Return the router of ``/login`` and ``/logout``."""
    router = APIRouter(
        include_in_schema=False, dependencies=[Depends(access.require_loopback_name)]
    )

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> Response:
        if access.is_open or access.session(request) is not None:
            return RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
        return render_page(request, "login.html", None, error=None)

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        fields = parse_qs((await request.body()).decode("utf-8", "replace"))
        given = (fields.get("token") or [""])[0]
        if access.token is None or not is_token_valid(given, access.token):
            error = "That token is not the one in web.token."
            return render_page(request, "login.html", None, status_code=401, error=error)
        session = access.sessions.open(access.clock(), authenticated=True)
        response = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
        set_session_cookie(request, response, session)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        session = access.session(request)
        fields = parse_qs((await request.body()).decode("utf-8", "replace"))
        given = fields.get(CSRF_FIELD)
        if session is not None and given and session.accepts_csrf(given[0]):
            access.sessions.close(session.id)
        response = RedirectResponse(
            "/" if access.is_open else "/login", status_code=status.HTTP_303_SEE_OTHER
        )
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response

    return router
