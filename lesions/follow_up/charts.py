"""The risk trend chart of a lesion, drawn on the server as SVG (no script, no service).

The chart puts each visit at its capture date on the x axis (so intervals look like
intervals) and probabilities on y. The same numbers are given as a table for screen
readers and print (the chart's text alternative).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from classifier.labels import display_name
from lesions.follow_up.changes import Visit

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 12, 34
# One colour per class; the malignant probability is the thick dark line on top.
CLASS_COLOURS = {
    "akiec": "#b35806",
    "bcc": "#e08214",
    "bkl": "#8073ac",
    "df": "#1b7837",
    "mel": "#c51b7d",
    "nv": "#2166ac",
    "vasc": "#5aae61",
    "scc": "#8c510a",
}
MALIGNANT_COLOUR = "#111111"


@dataclass(frozen=True)
class Series:
    code: str
    name: str
    colour: str
    points: str  # "x,y x,y ..." for <polyline>
    dots: list[tuple[float, float]]
    emphasis: bool = False


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    series: list[Series]
    x_ticks: list[tuple[float, str, str]]  # x, label, text-anchor (ends stay inside)
    y_ticks: list[tuple[float, str]]
    rows: list[dict]  # the text alternative: one row per visit
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM


def trend_chart(visits: Sequence[Visit]) -> TrendChart | None:
    """The chart of the lesion's assessable visits; None when there is nothing to draw."""
    # A not-assessable image has probabilities on record, but they mean nothing: left out.
    shown = [visit for visit in visits if visit.assessable and visit.probabilities]
    if not shown:
        return None
    first, last = shown[0].captured_on, shown[-1].captured_on
    span = max((last - first).days, 1)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(index: int, visit: Visit) -> float:
        if len(shown) == 1:
            return LEFT + inner_w / 2
        if last == first:  # all on one day: spread evenly
            return LEFT + inner_w * index / (len(shown) - 1)
        return LEFT + inner_w * (visit.captured_on - first).days / span

    def y_of(probability: float) -> float:
        return TOP + inner_h * (1 - probability)

    xs = [round(x_of(i, visit), 1) for i, visit in enumerate(shown)]
    codes = sorted({code for visit in shown for code in visit.probabilities})
    series = []
    for code in codes:
        dots = [
            (x, round(y_of(visit.probabilities.get(code, 0.0)), 1))
            for x, visit in zip(xs, shown, strict=True)
        ]
        series.append(
            Series(
                code, display_name(code), CLASS_COLOURS.get(code, "#777777"), _points(dots), dots
            )
        )
    malignant = [
        (x, round(y_of(visit.malignant_probability), 1))
        for x, visit in zip(xs, shown, strict=True)
        if visit.malignant_probability is not None
    ]
    series.append(
        Series(
            "malignant",
            "Malignant probability",
            MALIGNANT_COLOUR,
            _points(malignant),
            malignant,
            emphasis=True,
        )
    )
    return TrendChart(
        width=WIDTH,
        height=HEIGHT,
        series=series,
        x_ticks=[
            (x, f"{visit.captured_on:%d %b %y}", _anchor(x))
            for x, visit in zip(xs, shown, strict=True)
        ],
        y_ticks=[(round(y_of(p), 1), f"{round(p * 100)} %") for p in (0, 0.25, 0.5, 0.75, 1)],
        rows=_table_rows(shown),
    )


def _table_rows(shown: Sequence[Visit]) -> list[dict]:
    """The chart's numbers as table rows (its text alternative)."""
    return [
        {
            "captured_on": visit.captured_on,
            "state": visit.result_state,
            "top_class": display_name(visit.top_class)
            if visit.top_class and visit.assessable
            else "—",
            "malignant_percent": None
            if visit.malignant_probability is None
            else round(100 * visit.malignant_probability, 1),
        }
        for visit in shown
    ]


def _points(dots: list[tuple[float, float]]) -> str:
    return " ".join(f"{x},{y}" for x, y in dots)


def _anchor(x: float) -> str:
    if x <= LEFT + 30:
        return "start"
    if x >= WIDTH - RIGHT - 30:
        return "end"
    return "middle"
