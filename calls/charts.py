"""Bar charts for the dashboard as plain geometry: the template draws them as inline SVG (no JavaScript, no CDN),
each bar with a tooltip, each chart with a data table beside it for screen readers and for exact figures."""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 10, 26
MAX_X_LABELS = 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str  # a class naming the series, coloured by the stylesheet
    title: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    legend: list[tuple[str, str]]  # (css class, label)
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_bottom: float = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not any(bar.height > 0 for bar in self.bars)


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5 × 10^k at or above value (the top of the y axis)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)


def _ticks(top: int, plot_height: float) -> list[tuple[float, str]]:
    steps = 4 if top % 4 == 0 else 5 if top % 5 == 0 else 2 if top % 2 == 0 else 1
    return [(TOP + plot_height * (1 - n / steps), f"{round(top * n / steps):g}") for n in range(steps + 1)]


def stacked_bars(
    columns: list[tuple[str, dict[str, int]]], series: list[tuple[str, str]], *, width: int = WIDTH
) -> Chart:
    """One bar per column, stacked by series (key, label) in order; each segment titled "label: n".
    `width` is the drawing's own width: a chart shown twice as wide gets twice the units, so its text keeps
    the size of the others'."""
    canvas = width
    plot_w, plot_h = canvas - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = nice_ceiling(max((sum(values.values()) for _, values in columns), default=0))
    slot = plot_w / max(len(columns), 1)
    bar_width = max(1.0, slot * 0.72)
    bars, labels = [], []
    every = math.ceil(len(columns) / MAX_X_LABELS) or 1
    for n, (label, values) in enumerate(columns):
        x = LEFT + n * slot + (slot - bar_width) / 2
        base = TOP + plot_h
        for key, name in series:
            count = values.get(key, 0)
            if not count:
                continue
            height = plot_h * count / top
            base -= height
            bars.append(Bar(round(x, 2), round(base, 2), round(bar_width, 2), round(height, 2), key,
                            f"{label} · {name}: {count}"))  # fmt: skip
        if n % every == 0:
            labels.append((round(x + bar_width / 2, 2), label))
    return Chart(bars=bars, x_labels=labels, y_ticks=_ticks(top, plot_h), legend=[(k, name) for k, name in series],
                 width=canvas)  # fmt: skip


def bars(columns: list[tuple[str, int]], *, css: str = "bar", unit: str = "calls") -> Chart:
    return stacked_bars([(label, {css: n}) for label, n in columns], [(css, unit)])
