"""The restore-duration trend as an SVG line chart, drawn by hand as text (no plotting library).

The picture is deterministic: the same points give the same bytes, so a report committed to a
repository changes only when the data does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from backproof.clock import isoformat

WIDTH = 640
HEIGHT = 320
MARGIN_LEFT = 72
MARGIN_RIGHT = 40  # room for half of the last date label, centred on its tick
MARGIN_TOP = 40
MARGIN_BOTTOM = 56
TIME_TICKS = 5
DURATION_TICKS = 4
SECONDS_PER_DAY = 86_400
SECONDS_PER_MINUTE = 60
FONT = 'font-family="sans-serif" font-size="12"'
LINE_COLOUR = "#1f6feb"
AXIS_COLOUR = "#57606a"
GRID_COLOUR = "#d0d7de"


@dataclass(frozen=True)
class _Frame:
    """Maps times and durations to picture coordinates."""

    start: datetime
    span_seconds: float
    top_seconds: float

    def x(self, moment: datetime) -> float:
        """Return the horizontal position of ``moment``; the middle when all points coincide."""
        plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
        if self.span_seconds == 0:
            return MARGIN_LEFT + plot_width / 2
        offset = (moment - self.start).total_seconds() / self.span_seconds
        return MARGIN_LEFT + offset * plot_width

    def y(self, seconds: float) -> float:
        """Return the vertical position of a duration (0 at the bottom axis)."""
        plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
        return MARGIN_TOP + plot_height * (1 - seconds / self.top_seconds)


def render_trend_svg(points: Sequence[tuple[datetime, float]], title: str) -> str:
    """Return an SVG line chart of restore durations (seconds) over time (UTC).

    With fewer than two points the picture holds a sentence saying so instead of a chart.
    """
    ordered = sorted(points)
    if len(ordered) < 2:
        return _message_svg(title, _not_enough_message(ordered))
    start, end = ordered[0][0], ordered[-1][0]
    step = nice_step(max(seconds for _, seconds in ordered) / DURATION_TICKS)
    top = step * max(1, math.ceil(max(seconds for _, seconds in ordered) / step))
    frame = _Frame(start, (end - start).total_seconds(), top)
    body = [
        *_duration_axis(frame, step),
        *_time_axis(frame, start, end),
        _polyline(frame, ordered),
        *(_point(frame, moment, seconds) for moment, seconds in ordered),
    ]
    return _document(title, body)


def nice_step(rough: float) -> float:
    """Return the smallest of 1, 2 or 5 times a power of ten that is at least ``rough``."""
    if rough <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(rough))
    for factor in (1, 2, 5, 10):
        if factor * power >= rough * (1 - 1e-9):
            return float(factor * power)
    raise AssertionError("unreachable: 10 times the power is always enough")


def _not_enough_message(points: list[tuple[datetime, float]]) -> str:
    if not points:
        return "No restore measured yet: the trend needs at least 2 passed verifications."
    moment, seconds = points[0]
    return (
        f"Only 1 restore measured ({seconds:.1f} s on {isoformat(moment)}): "
        "the trend needs at least 2."
    )


def _duration_axis(frame: _Frame, step: float) -> list[str]:
    lines = []
    tick_count = round(frame.top_seconds / step)
    for index in range(tick_count + 1):
        seconds = step * index
        y = frame.y(seconds)
        lines.append(
            f'<line x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y2="{y:.1f}" stroke="{GRID_COLOUR}" stroke-width="1"/>'
        )
        lines.append(
            f'<text x="{MARGIN_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" {FONT}>'
            f"{seconds:g} s</text>"
        )
    middle = MARGIN_TOP + (HEIGHT - MARGIN_TOP - MARGIN_BOTTOM) / 2
    lines.append(
        f'<text x="16" y="{middle:.1f}" text-anchor="middle" {FONT} '
        f'transform="rotate(-90 16 {middle:.1f})">restore duration (s)</text>'
    )
    return lines


def _time_label_format(step_seconds: float) -> str:
    """Return the coarsest label that still tells neighbouring ticks apart.

    Whole days between ticks keep date-only labels distinct; ticks minutes apart need the
    minute, and ticks seconds apart the second (points a few minutes apart repeated labels).
    """
    if step_seconds >= SECONDS_PER_DAY:
        return "%Y-%m-%d"
    if step_seconds >= SECONDS_PER_MINUTE:
        return "%m-%d %H:%M"
    return "%H:%M:%S"


def _time_axis(frame: _Frame, start: datetime, end: datetime) -> list[str]:
    bottom = HEIGHT - MARGIN_BOTTOM
    lines = [
        f'<line x1="{MARGIN_LEFT}" y1="{bottom}" x2="{WIDTH - MARGIN_RIGHT}" y2="{bottom}" '
        f'stroke="{AXIS_COLOUR}" stroke-width="1"/>',
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP}" x2="{MARGIN_LEFT}" y2="{bottom}" '
        f'stroke="{AXIS_COLOUR}" stroke-width="1"/>',
    ]
    label_format = _time_label_format(frame.span_seconds / (TIME_TICKS - 1))
    ticks = 1 if frame.span_seconds == 0 else TIME_TICKS
    for index in range(ticks):
        moment = start + (end - start) * (index / max(1, ticks - 1))
        x = frame.x(moment)
        lines.append(
            f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}" '
            f'stroke="{AXIS_COLOUR}" stroke-width="1"/>'
        )
        lines.append(
            f'<text x="{x:.1f}" y="{bottom + 20}" text-anchor="middle" {FONT}>'
            f"{moment.strftime(label_format)}</text>"
        )
    lines.append(
        f'<text x="{MARGIN_LEFT + (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / 2:.1f}" '
        f'y="{HEIGHT - 12}" text-anchor="middle" {FONT}>time (UTC)</text>'
    )
    return lines


def _polyline(frame: _Frame, points: list[tuple[datetime, float]]) -> str:
    coordinates = " ".join(
        f"{frame.x(moment):.1f},{frame.y(seconds):.1f}" for moment, seconds in points
    )
    return f'<polyline points="{coordinates}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>'


def _point(frame: _Frame, moment: datetime, seconds: float) -> str:
    return (
        f'<circle cx="{frame.x(moment):.1f}" cy="{frame.y(seconds):.1f}" r="3.5" '
        f'fill="{LINE_COLOUR}"><title>{isoformat(moment)}: {seconds:.1f} s</title></circle>'
    )


def _message_svg(title: str, message: str) -> str:
    text = (
        f'<text x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" text-anchor="middle" {FONT}>'
        f"{escape(message)}</text>"
    )
    return _document(title, [text])


def _document(title: str, body: list[str]) -> str:
    safe_title = escape(title)
    header = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{safe_title}">',
        f"<title>{safe_title}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{WIDTH / 2:.0f}" y="24" text-anchor="middle" font-family="sans-serif" '
        f'font-size="15" font-weight="bold">{safe_title}</text>',
    ]
    return "\n".join([*header, *body, "</svg>"]) + "\n"
