"""Monitoring's charts, drawn on the server as SVG like the lesion trend chart (no script).

Two per model: the mix of result states as one stacked bar, and the gate distances as
distribution functions, the clinic's against val's. The page gives the same numbers as
tables (the charts' text alternative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitoring.selectors.figures import ModelFigures

WIDTH = 560
BAR_HEIGHT, BAR_TOP = 28, 6
CDF_HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 200, 44, 16, 12, 30
STATE_COLOURS = {
    "high": "#b2182b",
    "moderate": "#ef8a62",
    "inconclusive": "#999999",
    "low": "#67a9cf",
    "not_assessable": "#4d4d4d",
}


@dataclass(frozen=True)
class Segment:
    state: str
    label: str
    x: float
    width: float
    colour: str
    count: int


@dataclass(frozen=True)
class StateBar:
    width: int
    height: int
    segments: list[Segment]


def state_bar(figures: ModelFigures) -> StateBar | None:
    if not figures.analyses:
        return None
    x, segments = 0.0, []
    for row in figures.state_rows:
        if not row["count"]:
            continue
        width = WIDTH * row["count"] / figures.analyses
        colour = STATE_COLOURS.get(row["state"], "#777777")
        segments.append(
            Segment(row["state"], row["label"], round(x, 1), round(width, 1), colour, row["count"])
        )
        x += width
    return StateBar(WIDTH, BAR_HEIGHT + 2 * BAR_TOP, segments)


@dataclass(frozen=True)
class DistanceChart:
    width: int
    height: int
    clinic_points: str  # polyline "x,y …": the clinic's share at or below each distance
    val_points: str  # val's recorded quantiles
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = CDF_HEIGHT - BOTTOM


def distance_chart(figures: ModelFigures) -> DistanceChart | None:
    if not figures.distances or not figures.reference:
        return None
    levels = sorted((float(k), float(v)) for k, v in figures.reference.items())
    values = np.sort(np.asarray(figures.distances, dtype=np.float64))
    top = float(max(values.max(), levels[-1][1])) * 1.05 or 1.0
    inner_w, inner_h = WIDTH - LEFT - RIGHT, CDF_HEIGHT - TOP - BOTTOM

    def xy(distance: float, share: float) -> str:
        return f"{LEFT + inner_w * distance / top:.1f},{TOP + inner_h * (1 - share):.1f}"

    grid = np.linspace(0.0, top, 60)
    clinic = [xy(d, np.searchsorted(values, d, side="right") / len(values)) for d in grid]
    val = [xy(q, level) for level, q in levels]
    return DistanceChart(
        width=WIDTH,
        height=CDF_HEIGHT,
        clinic_points=" ".join(clinic),
        val_points=" ".join(val),
        x_ticks=[(round(LEFT + inner_w * d / top, 1), f"{d:.2f}") for d in np.linspace(0, top, 5)],
        y_ticks=[(round(TOP + inner_h * (1 - p), 1), f"{round(p * 100)} %") for p in (0, 0.5, 1)],
    )
