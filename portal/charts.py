"""Server-rendered SVG charts: no JavaScript, nothing inline that the CSP would refuse, and a
table with the same figures for anyone who cannot see the picture (or would rather read).

A view builds a `Chart` and passes it to `{% include "charts/chart.html" with chart=... %}`.
All geometry is computed here, so the template only places numbers; every label goes through
the template engine and is escaped like any other text.
"""

import math
import re
from dataclasses import dataclass, field

from portal.l10n import number

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 26, 40
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MAX_X_LABELS = 8  # "Nov 2026" needs about 60 of the 576 units of width


def _nice_step(span: float, intervals: int = 4) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that covers `span` in at most `intervals` steps
    (2.5 only from 25 up, so that counts get whole-number ticks)."""
    if span <= 0:
        return 1
    power = 10 ** math.floor(math.log10(span / intervals))
    while True:
        for factor in (1, 2, 2.5, 5):
            step = factor * power
            if factor == 2.5 and step < 25:
                continue
            if step * intervals >= span - 1e-9:
                return step
        power *= 10


FORMAT_RE = re.compile(r"\{:(,?)\.(\d+)f\}")


def _format(value, fmt: str) -> str:
    """`value` as `fmt` ("{:.1f}", "{:,.0f}": decimals, and "," to group thousands) says,
    in the active language's decimal mark and thousands separator (1,234.5 in en-GB)."""
    if value is None:
        return "–"
    spec = FORMAT_RE.fullmatch(fmt)
    if spec is None:
        return fmt.format(value)
    return number(value, int(spec.group(2)), grouping=spec.group(1) == ",")


@dataclass
class Series:
    label: str
    values: list  # one per x label; None where there is nothing to show
    css: str = "s1"  # colour class: s1 … s6


@dataclass
class Chart:
    """kind: "bars" (side by side), "stacked" (bars on top of each other) or "line"."""

    title: str
    labels: list[str]
    series: list[Series]
    kind: str = "bars"
    y_label: str = ""
    y_max: float | None = None
    value_format: str = "{:,.0f}"
    summary: str = ""  # one sentence a reader would want first; shown under the title
    slug: str = field(default="chart")

    # --- figures for the template -------------------------------------------------------
    @property
    def is_empty(self) -> bool:
        values = [v for s in self.series for v in s.values if v is not None]
        if self.kind == "line":  # 0% on time is a figure worth drawing
            return not values
        return not any(values)

    @property
    def step(self) -> float:
        if self.y_max is not None:  # a fixed scale (5 stars, 100%): steps that divide it
            dividing = (
                step
                for step in (1, 2, 2.5, 5, 10, 20, 25, 50, 100)
                if self.y_max / step <= 5 and (self.y_max / step).is_integer()
            )
            return next(dividing, self.y_max / 4)
        step = _nice_step(self._peak())
        # never finer than the labels can print (0.05 shown to one decimal reads 0.1, 0.1)
        precision = re.search(r"\.(\d+)f\}$", self.value_format)
        finest = 10 ** -int(precision.group(1)) if precision else 0
        if step < finest:
            step = _nice_step(max(self._peak(), finest * 4))
        return max(step, finest)

    @property
    def top(self) -> float:
        if self.y_max is not None:
            return self.y_max
        return self.step * max(1, math.ceil(self._peak() / self.step - 1e-9))

    def _peak(self) -> float:
        if self.kind == "stacked":
            peak = max(
                (sum(s.values[i] or 0 for s in self.series) for i in range(len(self.labels))),
                default=0,
            )
        else:
            peak = max((v for s in self.series for v in s.values if v is not None), default=0)
        return peak

    def _y(self, value: float) -> float:
        return round(TOP + PLOT_H - PLOT_H * min(value, self.top) / self.top, 1)

    def geometry(self) -> dict:
        count = max(len(self.labels), 1)
        band = PLOT_W / count
        top, step = self.top, self.step
        ticks = [
            {"y": self._y(step * i), "label": _format(step * i, self.value_format)}
            for i in range(round(top / step) + 1)
        ]
        every = max(1, math.ceil(count / MAX_X_LABELS))
        x_labels = [
            {"x": round(LEFT + band * (i + 0.5), 1), "label": label}
            for i, label in enumerate(self.labels)
            if i % every == 0
        ]
        shapes = []
        if self.kind == "line":
            for s in self.series:
                points, runs = [], []
                for i, value in enumerate(s.values):
                    if value is None:
                        if points:
                            runs.append(points)
                        points = []
                        continue
                    points.append((round(LEFT + band * (i + 0.5), 1), self._y(value)))
                if points:
                    runs.append(points)
                shapes.append(
                    {
                        "css": s.css,
                        "lines": [" ".join(f"{x},{y}" for x, y in run) for run in runs],
                        "dots": [{"x": x, "y": y} for run in runs for x, y in run],
                    }
                )
        else:
            gap = band * 0.2
            inner = band - gap
            per = inner / (len(self.series) if self.kind == "bars" else 1)
            base = [0.0] * count
            for n, s in enumerate(self.series):
                rects = []
                for i, value in enumerate(s.values):
                    if not value:
                        continue
                    x = LEFT + band * i + gap / 2 + (per * n if self.kind == "bars" else 0)
                    low = base[i] if self.kind == "stacked" else 0
                    y_top, y_low = self._y(low + value), self._y(low)
                    if y_low - y_top < 0.5:  # too small to see: half a unit, above the base
                        y_top = round(y_low - 0.5, 1)
                    rects.append(
                        {
                            "x": round(x, 1),
                            "y": y_top,
                            "w": round(max(per - 1, 1), 1),
                            "h": round(y_low - y_top, 1),
                            "title": (
                                f"{self.labels[i]}: {s.label} {_format(value, self.value_format)}"
                            ),
                        }
                    )
                    if self.kind == "stacked":
                        base[i] += value
                shapes.append({"css": s.css, "rects": rects})
        return {
            "width": WIDTH,
            "height": HEIGHT,
            "left": LEFT,
            "right": WIDTH - RIGHT,
            "top": TOP,
            "bottom": TOP + PLOT_H,
            "label_y": TOP + PLOT_H + 18,
            "ticks": ticks,
            "x_labels": x_labels,
            "shapes": shapes,
        }

    def table(self) -> dict:
        """The same figures as rows (one per x label) for the table equivalent."""
        return {
            "columns": [s.label for s in self.series],
            "rows": [
                {
                    "label": label,
                    "cells": [_format(s.values[i], self.value_format) for s in self.series],
                }
                for i, label in enumerate(self.labels)
            ],
        }
