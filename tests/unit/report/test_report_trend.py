"""The restore-duration trend picture: a well-formed SVG with axes, labels, points and a line."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from backproof.report.trend import HEIGHT, MARGIN_BOTTOM, MARGIN_TOP, nice_step, render_trend_svg

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
WEEK = [(START + timedelta(days=day), 10.0 + day) for day in range(7)]


def parse(svg: str) -> ElementTree.Element:
    """Return the root of the picture; fails the test when it is not well-formed XML."""
    return ElementTree.fromstring(svg)  # noqa: S314 - our own output, not untrusted input


def polyline_points(svg: str) -> list[tuple[float, float]]:
    """Return the coordinates of the line."""
    polyline = parse(svg).find(f"{SVG}polyline")
    assert polyline is not None
    pairs = [pair.split(",") for pair in polyline.attrib["points"].split()]
    return [(float(x), float(y)) for x, y in pairs]


def texts(svg: str) -> list[str]:
    """Return every text label of the picture."""
    return [element.text or "" for element in parse(svg).iter(f"{SVG}text")]


def test_render_trend_svg_draws_a_point_and_a_vertex_per_measure() -> None:
    svg = render_trend_svg(WEEK, "Restore duration of crm")
    assert len(parse(svg).findall(f"{SVG}circle")) == 7
    assert len(polyline_points(svg)) == 7


def test_render_trend_svg_orders_the_line_by_time_when_points_are_shuffled() -> None:
    svg = render_trend_svg(list(reversed(WEEK)), "crm")
    xs = [x for x, _ in polyline_points(svg)]
    assert xs == sorted(xs)


def test_render_trend_svg_draws_longer_restores_higher() -> None:
    svg = render_trend_svg(WEEK, "crm")
    ys = [y for _, y in polyline_points(svg)]
    assert ys == sorted(ys, reverse=True)


def test_render_trend_svg_labels_dates_and_seconds() -> None:
    labels = texts(render_trend_svg(WEEK, "crm"))
    assert "2026-11-20" in labels
    assert "2026-11-26" in labels
    assert "0 s" in labels
    assert "20 s" in labels
    assert "time (UTC)" in labels
    assert "restore duration (s)" in labels


def test_render_trend_svg_labels_hours_when_the_span_is_short() -> None:
    points = [(START, 5.0), (START + timedelta(hours=6), 6.0)]
    labels = texts(render_trend_svg(points, "crm"))
    assert "11-20 01:00" in labels
    assert "11-20 07:00" in labels


@pytest.mark.parametrize(
    "span", [timedelta(minutes=2), timedelta(minutes=8), timedelta(hours=6), timedelta(days=6)]
)
def test_render_trend_svg_time_labels_never_repeat_whatever_the_span(span: timedelta) -> None:
    points = [(START, 5.0), (START + span, 6.0)]
    labels = texts(render_trend_svg(points, "crm"))
    ticks = [label for label in labels if label[:1].isdigit() and not label.endswith(" s")]

    assert len(ticks) == 5
    assert len(set(ticks)) == 5


def test_render_trend_svg_keeps_points_inside_the_plot_area() -> None:
    svg = render_trend_svg(WEEK, "crm")
    for _, y in polyline_points(svg):
        assert MARGIN_TOP <= y <= HEIGHT - MARGIN_BOTTOM


def test_render_trend_svg_escapes_the_title() -> None:
    svg = render_trend_svg(WEEK, "a <b> & c")
    root = parse(svg)
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == "a <b> & c"


@pytest.mark.parametrize("count", [0, 1])
def test_render_trend_svg_says_why_there_is_no_line_when_fewer_than_two_points(count: int) -> None:
    svg = render_trend_svg(WEEK[:count], "crm")
    assert parse(svg).find(f"{SVG}polyline") is None
    assert any("the trend needs at least 2" in label for label in texts(svg))


def test_render_trend_svg_draws_a_flat_line_when_all_durations_are_zero() -> None:
    points = [(START, 0.0), (START + timedelta(days=1), 0.0)]
    ys = {y for _, y in polyline_points(render_trend_svg(points, "crm"))}
    assert ys == {float(HEIGHT - MARGIN_BOTTOM)}


def test_render_trend_svg_puts_simultaneous_points_in_the_middle() -> None:
    points = [(START, 3.0), (START, 4.0)]
    xs = {x for x, _ in polyline_points(render_trend_svg(points, "crm"))}
    assert len(xs) == 1


def test_render_trend_svg_returns_the_same_text_for_the_same_points() -> None:
    assert render_trend_svg(WEEK, "crm") == render_trend_svg(list(WEEK), "crm")


def test_render_trend_svg_writes_no_float_noise_in_labels() -> None:
    points = [(START, 0.1), (START + timedelta(days=1), 0.7)]
    labels = texts(render_trend_svg(points, "crm"))
    assert not any(re.search(r"\d{6,}", label) for label in labels)


@pytest.mark.parametrize(
    ("rough", "expected"),
    [(0.0, 1.0), (0.13, 0.2), (1.0, 1.0), (3.2, 5.0), (7.0, 10.0), (42.0, 50.0)],
)
def test_nice_step_rounds_up_to_one_two_or_five_times_a_power_of_ten(
    rough: float, expected: float
) -> None:
    assert nice_step(rough) == pytest.approx(expected)
