"""The HTML of the pages: one Jinja2 environment, the filters that put units on numbers and
mark times for the browser to show in local time, and the answer that sets a new session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from backproof import __version__
from backproof.units import (
    format_duration_ms,
    format_hours,
    format_number,
    format_seconds,
    format_size_bytes,
    format_time,
)
from backproof.web.charts import render_line_chart
from backproof.web.session import SESSION_COOKIE, SESSION_LIFETIME, Session


def time_tag(value: str | None, missing: str = "—") -> Markup:
    """Return ``<time>`` for an ISO time: UTC text that the script shows in local time."""
    if not value:
        return escape(missing)
    shown = format_time(datetime.fromisoformat(value))
    tag = f'<time datetime="{escape(value)}" title="{shown}">{shown}</time>'
    return Markup(tag)  # noqa: S704 (the only outside text, ``value``, is escaped)


CHECK_UNITS = {
    "backup_success_rate": "%",
    "verify_success_rate": "%",
    "verify_streak": "failed",
    "dump_size": "% smaller",
    "emptied_tables": "tables",
    "destinations": "missing",
    "kept_backups": "failing",
}
CHECK_FORMATS: dict[str, Callable[[float], str]] = {
    "rpo": format_hours,
    "verified_age": format_hours,
    "restore_duration": format_seconds,
}


def format_check_value(value: float | None, check_name: str) -> str:
    """Return a check's value or threshold with the unit of that check (ages as durations)."""
    if value is None:
        return "—"
    if check_name in CHECK_FORMATS:
        return CHECK_FORMATS[check_name](value)
    unit = CHECK_UNITS.get(check_name, "")
    return f"{format_number(value)} {unit}".strip()


def format_percent(ratio: float | None) -> str:
    """Return a ratio 0..1 as a percentage."""
    return "—" if ratio is None else f"{ratio * 100:.0f} %"


@cache
def environment() -> Environment:
    """Return the Jinja2 environment of the templates packaged under ``web/templates``."""
    env = Environment(
        loader=PackageLoader("backproof.web", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        size=format_size_bytes,
        seconds=format_seconds,
        duration_ms=format_duration_ms,
        hours=format_hours,
        percent=format_percent,
        check_value=format_check_value,
        number=format_number,
        time=time_tag,
    )
    env.globals.update(version=__version__, line_chart=render_line_chart)
    return env


def render_page(
    request: Request, template: str, session: Session | None, status_code: int = 200, **values: Any
) -> HTMLResponse:
    """Return the page ``template`` filled with ``values``; set the cookie of a new session."""
    html = (
        environment()
        .get_template(template)
        .render(session=session, path=request.url.path, **values)
    )
    response = HTMLResponse(html, status_code=status_code)
    opened: Session | None = getattr(request.state, "new_session", None)
    if opened is not None:
        set_session_cookie(request, response, opened)
    return response


def set_session_cookie(request: Request, response: Response, session: Session) -> None:
    """Set the HttpOnly, SameSite=Strict cookie of ``session`` on ``response``."""
    response.set_cookie(
        SESSION_COOKIE,
        session.id,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
