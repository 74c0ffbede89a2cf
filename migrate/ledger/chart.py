"""The burn-down chart's geometry: old hosts still alive over time as an SVG step path, with its axis ticks.
Numbers only; the HTML template draws them (inline SVG: no script, no font, no image to fetch)."""
# exercised by tests/cli/test_report.py (the chart drawn in chromium)

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from migrate.clock import rfc3339

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 20, 16, 40


@dataclass(frozen=True)
class Tick:
    at: float  # pixel position along its axis
    label: str


@dataclass(frozen=True)
class BurndownChart:
    width: int
    height: int
    path: str  # the step line, "M x y H x V y …"
    area: str  # the same line closed down to the x axis (a filled area)
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    left: int
    bottom: int  # y of the x axis
    right: int
    points: int


def burndown_chart(points: Sequence[tuple[float, int]]) -> BurndownChart | None:
    if not points:
        return None
    t0, t1 = points[0][0], max(points[-1][0], points[0][0] + 1.0)
    top = max(max(n for _, n in points), 1)
    span_x, span_y = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return round(LEFT + (t - t0) / (t1 - t0) * span_x, 1)

    def y(n: int) -> float:
        return round(TOP + (1 - n / top) * span_y, 1)

    segments = [f"M{x(points[0][0])} {y(points[0][1])}"]
    for at, alive in points[1:]:
        segments.append(f"H{x(at)}V{y(alive)}")
    path = "".join(segments)
    area = f"{path}V{y(0)}H{x(points[0][0])}Z"
    shown = 10 if t1 - t0 > 2 * 86400 else 16  # a day's work is read by the hour, a migration by the day
    x_ticks = [Tick(x(t0 + (t1 - t0) * f), rfc3339(t0 + (t1 - t0) * f)[:shown].replace("T", " "))
               for f in (0.0, 0.5, 1.0)]
    y_ticks = [Tick(y(n), str(n)) for n in sorted({0, top // 2, top})]
    return BurndownChart(WIDTH, HEIGHT, path, area, x_ticks, y_ticks, LEFT, int(y(0)), WIDTH - RIGHT, len(points))
