"""What a clinic's uploads looked like over a period, per model version (aggregates only)."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from lesions.models import Analysis, AnalysisStatus, Clinic, Modality, ResultState
from monitoring.selectors.models import (
    ModelKey,
    model_refs,
    val_distance_quantiles,
    val_not_assessable_rate,
)
from monitoring.statistics import Drift, Proportion, drift_against, proportion

STATES = [state.value for state in ResultState]
TOP_REASONS = 8  # quality reasons listed per model; the rest are summed as "other"


@dataclass(frozen=True)
class Period:
    """Whole days, ``start`` to ``end`` inclusive, in the site's time zone."""

    start: datetime.date
    end: datetime.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one (what alerts compare with)."""
        end = self.start - datetime.timedelta(days=1)
        return Period(end - datetime.timedelta(days=self.days - 1), end)

    def bounds(self) -> tuple[datetime.datetime, datetime.datetime]:
        zone = timezone.get_current_timezone()
        start = datetime.datetime.combine(self.start, datetime.time.min, tzinfo=zone)
        end = datetime.datetime.combine(
            self.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
        )
        return start, end

    @classmethod
    def ending(cls, end: datetime.date, *, days: int) -> Period:
        return cls(end - datetime.timedelta(days=days - 1), end)


@dataclass
class ModelFigures:
    """One model version's analyses of one clinic in one period."""

    key: ModelKey
    label: str
    analyses: int = 0
    states: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    not_dermoscopic: int = 0
    reasons: list[tuple[str, int]] = field(default_factory=list)
    drift: Drift | None = None
    val_not_assessable_rate: float | None = None
    distances: list[float] = field(default_factory=list, repr=False)  # for the chart only
    reference: dict[str, float] = field(default_factory=dict, repr=False)  # val's quantiles

    def share(self, state: str) -> Proportion:
        return proportion(self.states.get(state, 0), self.analyses)

    @property
    def not_assessable(self) -> Proportion:
        return self.share(ResultState.NOT_ASSESSABLE)

    @property
    def high(self) -> Proportion:
        return self.share(ResultState.HIGH)

    @property
    def not_dermoscopic_share(self) -> Proportion:
        return proportion(self.not_dermoscopic, self.analyses)

    @property
    def state_rows(self) -> list[dict]:
        labels = dict(ResultState.choices)
        return [
            {"state": s, "label": labels[s], "count": self.states[s], "share": self.share(s).value}
            for s in STATES
        ]

    def to_dict(self) -> dict:
        return {
            "model": self.label,
            "model_version_id": self.key[0],
            "analyses": self.analyses,
            "states": self.states,
            "not_assessable": self.not_assessable.to_dict(),
            "high": self.high.to_dict(),
            "not_dermoscopic": self.not_dermoscopic_share.to_dict(),
            "val_not_assessable_rate": self.val_not_assessable_rate,
            "quality_reasons": [{"reason": r, "count": n} for r, n in self.reasons],
            "drift": self.drift.to_dict() if self.drift else None,
        }


def finished_analyses(clinic: Clinic, period: Period) -> QuerySet[Analysis]:
    start, end = period.bounds()
    return Analysis.objects.filter(
        status=AnalysisStatus.DONE,
        image__lesion__patient__clinic=clinic,
        created_at__gte=start,
        created_at__lt=end,
    )


def period_figures(clinic: Clinic, period: Period) -> list[ModelFigures]:
    """Per model (newest version first): counts, state mix, reasons and drift against val."""
    rows = finished_analyses(clinic, period).values_list(
        "model_version_id",
        "model_id",
        "result_state",
        "state_reason",
        "image__modality",
        "gate_distance",
    )
    figures: dict[ModelKey, ModelFigures] = {}
    reasons: dict[ModelKey, Counter] = defaultdict(Counter)
    distances: dict[ModelKey, list[float]] = defaultdict(list)
    for version_id, model_id, state, reason, modality, distance in rows.iterator():
        key = (version_id, model_id)
        entry = figures.setdefault(key, ModelFigures(key=key, label=""))
        entry.analyses += 1
        entry.states[state] = entry.states.get(state, 0) + 1
        entry.not_dermoscopic += modality != Modality.DERMOSCOPIC
        if reason and state in (ResultState.NOT_ASSESSABLE, ResultState.INCONCLUSIVE):
            reasons[key][reason] += 1
        if distance is not None:
            distances[key].append(distance)
    refs = model_refs(set(figures))
    for key, entry in figures.items():
        entry.label = refs[key].label
        entry.reasons = _top_reasons(reasons[key])
        entry.distances, entry.reference = distances[key], val_distance_quantiles(refs[key].card)
        entry.drift = drift_against(entry.distances, entry.reference)
        entry.val_not_assessable_rate = val_not_assessable_rate(refs[key].card)
    return sorted(figures.values(), key=lambda f: (f.key[0] or 0, f.key[1]), reverse=True)


def _top_reasons(counts: Counter) -> list[tuple[str, int]]:
    top = counts.most_common(TOP_REASONS)
    rest = sum(counts.values()) - sum(n for _, n in top)
    return top + ([("Other reasons", rest)] if rest else [])
