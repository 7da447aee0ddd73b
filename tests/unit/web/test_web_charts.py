"""The dashboard's inline SVG line charts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from backproof.web.charts import milliseconds, render_line_chart


@dataclass(frozen=True)
class At:
    """One point of a chart."""

    at: str
    value: float


def axis_labels(svg: str) -> list[str]:
    """Return the y-axis labels of a chart (the texts anchored at the end, left of the plot)."""
    return re.findall(r'text-anchor="end">([^<]*)</text>', svg)


def test_an_axis_of_sub_millisecond_durations_has_distinct_labels() -> None:
    points = [At("2026-12-01T01:00:00+00:00", 0.0002), At("2026-12-01T02:00:00+00:00", 0.0008)]

    labels = axis_labels(render_line_chart(points, "restore duration", "seconds"))[:-1]

    assert labels == ["0 ms", "0.2 ms", "0.4 ms", "0.6 ms", "0.8 ms"]


def test_an_axis_of_seconds_is_written_in_seconds_above_one_second() -> None:
    points = [At("2026-12-01T01:00:00+00:00", 3.0), At("2026-12-01T02:00:00+00:00", 7.5)]

    labels = axis_labels(render_line_chart(points, "restore duration", "seconds"))[:-1]

    assert labels[0] == "0 s" and all(label.endswith(" s") for label in labels)
    assert len(set(labels)) == len(labels)


def test_milliseconds_keep_three_digits_below_100_ms_and_none_above() -> None:
    assert [milliseconds(s) for s in (0, 0.00025, 0.0123456, 0.42, 0.9996)] == [
        "0 ms",
        "0.25 ms",
        "12.3 ms",
        "420 ms",
        "1000 ms",
    ]
