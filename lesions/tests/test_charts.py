"""The server-drawn risk trend: visits at their dates, probabilities on y, a data table."""

from __future__ import annotations

import datetime

import pytest

from lesions.follow_up.changes import Visit
from lesions.follow_up.charts import HEIGHT, LEFT, RIGHT, WIDTH, trend_chart


def visit(pk: int, day: datetime.date, malignant: float | None, **probabilities: float) -> Visit:
    return Visit(pk, day, day, "low", "nv", malignant, probabilities)


def test_visits_sit_at_their_dates_and_probabilities():
    chart = trend_chart(
        [
            visit(1, datetime.date(2026, 1, 1), 0.0, nv=1.0, mel=0.0),
            visit(2, datetime.date(2026, 1, 11), 0.5, nv=0.5, mel=0.5),
            visit(3, datetime.date(2026, 4, 11), 1.0, nv=0.0, mel=1.0),
        ]
    )
    malignant = next(s for s in chart.series if s.code == "malignant")
    xs = [x for x, _ in malignant.dots]
    assert xs[0] == LEFT and xs[-1] == WIDTH - RIGHT
    assert (xs[1] - xs[0]) / (xs[2] - xs[0]) == pytest.approx(10 / 100, abs=0.01)
    ys = [y for _, y in malignant.dots]
    assert ys[0] > ys[1] > ys[2]  # higher probability, higher on the chart
    assert ys[0] == HEIGHT - 34 and {s.code for s in chart.series} == {"mel", "nv", "malignant"}
    assert [row["malignant_percent"] for row in chart.rows] == [0.0, 50.0, 100.0]


def test_nothing_to_draw_without_results():
    assert trend_chart([]) is None
    assert (
        trend_chart(
            [
                Visit(
                    1,
                    datetime.date(2026, 1, 1),
                    datetime.date(2026, 1, 1),
                    "not_assessable",
                    "",
                    None,
                    {},
                )
            ]
        )
        is None
    )
