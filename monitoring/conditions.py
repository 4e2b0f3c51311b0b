"""When figures leave their documented bounds (docs/monitoring.md, "Alerts").

Read-only: ``conditions_for`` says what is wrong for one clinic and period; the monitoring
page shows it live, and ``services.alerts.record_alerts`` records it for the beat task.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lesions.models import Clinic
from monitoring.models import AlertKind
from monitoring.selectors.figures import ModelFigures, Period, period_figures
from monitoring.selectors.outcomes import misses

# Not assessable: the share at least doubles against the previous period or val...
NOT_ASSESSABLE_RATIO = 2.0
# ...over at least this many analyses with at least this many not assessable (noise guard).
MIN_ANALYSES = 30
MIN_NOT_ASSESSABLE = 5
# High: the share moves by more than this (absolute) against the previous period, both
# periods with at least MIN_ANALYSES analyses.
HIGH_SHARE_MOVE = 0.15


@dataclass(frozen=True)
class Condition:
    kind: str
    key: str  # the same condition keeps the same key from one check to the next
    model_label: str
    message: str
    figures: dict = field(default_factory=dict)


def conditions_for(clinic: Clinic, period: Period) -> list[Condition]:
    current = period_figures(clinic, period)
    before = {f.key: f for f in period_figures(clinic, period.previous())}
    found: list[Condition] = []
    for figures in current:
        previous = before.get(figures.key)
        found += _not_assessable(figures, previous)
        found += _high_share(figures, previous)
        found += _drift(figures)
    found += _missed_melanomas(clinic)
    return found


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _not_assessable(figures: ModelFigures, previous: ModelFigures | None) -> list[Condition]:
    share = figures.not_assessable
    if figures.analyses < MIN_ANALYSES or share.successes < MIN_NOT_ASSESSABLE:
        return []
    before = (
        previous.not_assessable.value if previous and previous.analyses >= MIN_ANALYSES else None
    )
    val = figures.val_not_assessable_rate
    against = [
        (name, rate)
        for name, rate in (("the previous period", before), ("validation", val))
        if rate is not None and share.value >= NOT_ASSESSABLE_RATIO * rate
    ]
    if not against:
        return []
    words = " and ".join(f"{_pct(rate)} in {name}" for name, rate in against)
    return [
        Condition(
            AlertKind.NOT_ASSESSABLE_ROSE,
            f"{AlertKind.NOT_ASSESSABLE_ROSE}:{figures.label}",
            figures.label,
            f"Not assessable: {share.successes} of {share.total} analyses ({_pct(share.value)}), "
            f"at least twice the {words}.",
            {"share": share.value, "previous": before, "val": val, "analyses": share.total},
        )
    ]


def _high_share(figures: ModelFigures, previous: ModelFigures | None) -> list[Condition]:
    if previous is None or min(figures.analyses, previous.analyses) < MIN_ANALYSES:
        return []
    now, before = figures.high.value, previous.high.value
    if abs(now - before) <= HIGH_SHARE_MOVE:
        return []
    return [
        Condition(
            AlertKind.HIGH_SHARE_MOVED,
            f"{AlertKind.HIGH_SHARE_MOVED}:{figures.label}",
            figures.label,
            f"High: {_pct(now)} of {figures.analyses} analyses against {_pct(before)} of "
            f"{previous.analyses} in the previous period (bound: {HIGH_SHARE_MOVE:.0%} points).",
            {"share": now, "previous": before, "analyses": figures.analyses},
        )
    ]


def _drift(figures: ModelFigures) -> list[Condition]:
    if figures.drift is None or figures.drift.verdict != "shifted":
        return []
    return [
        Condition(
            AlertKind.DRIFT_SHIFTED,
            f"{AlertKind.DRIFT_SHIFTED}:{figures.label}",
            figures.label,
            f"{figures.drift.words} KS {figures.drift.ks:.2f} over {figures.drift.analyses} "
            "analyses.",
            {"ks": figures.drift.ks, "analyses": figures.drift.analyses},
        )
    ]


def _missed_melanomas(clinic: Clinic) -> list[Condition]:
    """Every confirmed melanoma an analysis called Low, whenever it was analysed."""
    return [
        Condition(
            AlertKind.MELANOMA_MISSED,
            f"{AlertKind.MELANOMA_MISSED}:analysis-{miss.analysis_id}",
            miss.model_label,
            f"A lesion confirmed as melanoma by histopathology was rated Low by {miss.model_label} "
            f"(analysis {miss.analysis_id}, {miss.analysed_at:%Y-%m-%d}): review it.",
            {"analysis_id": miss.analysis_id},
        )
        for miss in misses(clinic, melanoma_only=True)
    ]
