"""Small line charts as inline SVG, coloured by the page's stylesheet (light and dark alike).

Drawn on the server from the page's document, so the page needs no charting script.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from markupsafe import Markup, escape

from backproof.report.trend import nice_step
from backproof.units import format_seconds, format_size_bytes

WIDTH = 560
HEIGHT = 200
LEFT = 70
RIGHT = 16
TOP = 14
BOTTOM = 34
TICKS = 4


class Point(Protocol):
    """One point: an ISO time and a value."""

    @property
    def at(self) -> str:
        """The time, ISO 8601."""
        ...

    @property
    def value(self) -> float:
        """The value, in the chart's unit."""
        ...


def seconds_unit(top: float) -> Callable[[float], str]:
    """Return how an axis up to ``top`` seconds writes durations: all in ms below a second."""
    if top < 1:
        return milliseconds
    return lambda seconds: "0 s" if seconds == 0 else format_seconds(seconds)


def milliseconds(seconds: float) -> str:
    """Return ``seconds`` in milliseconds, with the decimals a sub-millisecond value needs (so
    the ticks of an axis up to 1 ms read 0.2, 0.4, …, not 0 ms four times)."""
    value = seconds * 1000
    return f"{value:.0f} ms" if value == 0 or value >= 100 else f"{value:.3g} ms"


def size_unit(_top: float) -> Callable[[float], str]:
    """Return how an axis writes sizes."""
    return format_size_bytes


UNITS: dict[str, Callable[[float], Callable[[float], str]]] = {
    "seconds": seconds_unit,
    "size": size_unit,
}


def render_line_chart(points: Sequence[Point], label: str, unit_name: str) -> Markup:
    """Return an SVG line chart of ``points``, values written in ``UNITS[unit_name]``.

    With fewer than two points the answer is a sentence instead of a chart.
    """
    parsed = sorted((datetime.fromisoformat(point.at), point.value) for point in points)
    if len(parsed) < 2:
        return Markup('<p class="muted">Not enough runs yet for a chart (2 needed).</p>')
    start, end = parsed[0][0], parsed[-1][0]
    span = max((end - start).total_seconds(), 1.0)
    step = nice_step(max(value for _, value in parsed) / TICKS)
    top = step * max(1, -(-max(value for _, value in parsed) // step))
    unit = UNITS[unit_name](top)

    def x(moment: datetime) -> float:
        return LEFT + (moment - start).total_seconds() / span * (WIDTH - LEFT - RIGHT)

    def y(value: float) -> float:
        return TOP + (1 - value / top) * (HEIGHT - TOP - BOTTOM)

    grid = [
        f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(step * i):.1f}" '
        f'y2="{y(step * i):.1f}"/><text class="axis" x="{LEFT - 6}" y="{y(step * i) + 4:.1f}" '
        f'text-anchor="end">{escape(unit(step * i))}</text>'
        for i in range(round(top / step) + 1)
    ]
    # Within two days the day alone would repeat itself: the hour (UTC) tells the runs apart.
    date_format = "%b %d" if span >= 2 * 86_400 else "%b %d %H:%M UTC"
    dates = [
        f'<text class="axis" x="{x(moment):.1f}" y="{HEIGHT - 10}" text-anchor="{anchor}">'
        f"{moment.strftime(date_format)}</text>"
        for moment, anchor in ((start, "start"), (end, "end"))
    ]
    line = " ".join(f"{x(moment):.1f},{y(value):.1f}" for moment, value in parsed)
    dots = [
        f'<circle class="dot" cx="{x(moment):.1f}" cy="{y(value):.1f}" r="3">'
        f"<title>{moment.strftime('%Y-%m-%d %H:%M UTC')}: {escape(unit(value))}</title></circle>"
        for moment, value in parsed
    ]
    body = "".join([*grid, *dates, f'<polyline class="line" points="{line}"/>', *dots])
    return Markup(  # noqa: S704 (every text inside was escaped above)
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>{body}</svg>'
    )
