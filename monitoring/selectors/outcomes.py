"""The served model against confirmed diagnoses: sensitivity, specificity, AUC, calibration.

The unit is a lesion with a confirmed diagnosis: per model version, the newest finished
analysis of any of its images in the period (several images of one lesion would otherwise
count one biopsy several times). Flagged at the card's operating point means what a
clinician read: High for melanoma, High or Moderate for malignant; Inconclusive and Not
assessable are not flagged (as the card counts them). docs/monitoring.md has the formulas.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np

from classifier.labels import MALIGNANT
from classifier.operating_point import MELANOMA_CODES
from lesions.models import Analysis, AnalysisStatus, Clinic, ResultState
from monitoring.selectors.figures import Period, finished_analyses
from monitoring.selectors.models import ModelKey, model_refs
from monitoring.statistics import (
    MIN_AUC_EACH,
    MIN_CALIBRATION_CASES,
    MIN_NEGATIVES,
    MIN_POSITIVES,
    Proportion,
    auc,
    proportion,
)
from training.metrics import bootstrap_intervals, expected_calibration_error

BOOTSTRAP_ROUNDS = 500  # per page view: enough for a 95 % percentile interval
FLAGGED_MALIGNANT = (ResultState.HIGH, ResultState.MODERATE)


@dataclass(frozen=True)
class Case:
    lesion_id: int
    patient_id: int
    diagnosis: str
    state: str
    probabilities: dict[str, float]
    malignant_probability: float


@dataclass
class ModelOutcomes:
    key: ModelKey
    label: str
    cases: int
    melanoma_sensitivity: Proportion
    melanoma_specificity: Proportion
    malignant_sensitivity: Proportion
    malignant_specificity: Proportion
    estimates: dict[str, dict]  # melanoma_auc, malignant_auc, ece: value, interval, counts

    def to_dict(self) -> dict:
        return {
            "model": self.label,
            "model_version_id": self.key[0],
            "cases": self.cases,
            "melanoma_sensitivity": self.melanoma_sensitivity.to_dict(),
            "melanoma_specificity": self.melanoma_specificity.to_dict(),
            "malignant_sensitivity": self.malignant_sensitivity.to_dict(),
            "malignant_specificity": self.malignant_specificity.to_dict(),
            **self.estimates,
        }


def confirmed_cases(clinic: Clinic, period: Period) -> dict[ModelKey, list[Case]]:
    rows = (
        finished_analyses(clinic, period)
        .exclude(image__lesion__confirmed_diagnosis="")
        .order_by("-created_at", "-pk")
        .values_list(
            "model_version_id",
            "model_id",
            "image__lesion_id",
            "image__lesion__patient_id",
            "image__lesion__confirmed_diagnosis",
            "result_state",
            "probabilities",
            "malignant_probability",
        )
    )
    cases: dict[ModelKey, dict[int, Case]] = {}
    for version_id, model_id, lesion_id, patient_id, dx, state, probs, malignant in rows:
        per_lesion = cases.setdefault((version_id, model_id), {})
        if lesion_id not in per_lesion:  # newest first: the first seen is the newest
            per_lesion[lesion_id] = Case(
                lesion_id, patient_id, dx, state, probs or {}, malignant or 0.0
            )
    return {key: list(by_lesion.values()) for key, by_lesion in cases.items()}


def outcome_figures(
    clinic: Clinic, period: Period, *, rounds: int = BOOTSTRAP_ROUNDS
) -> list[ModelOutcomes]:
    by_model = confirmed_cases(clinic, period)
    refs = model_refs(set(by_model))
    return [
        _outcomes(key, refs[key].label, cases, rounds=rounds)
        for key, cases in sorted(
            by_model.items(), key=lambda i: (i[0][0] or 0, i[0][1]), reverse=True
        )
    ]


def _outcomes(key: ModelKey, label: str, cases: list[Case], *, rounds: int) -> ModelOutcomes:
    melanoma = np.array([c.diagnosis in MELANOMA_CODES for c in cases])
    malignant = np.array([c.diagnosis in MALIGNANT for c in cases])
    high = np.array([c.state == ResultState.HIGH for c in cases])
    flagged = np.array([c.state in FLAGGED_MALIGNANT for c in cases])

    def sens_spec(positive: np.ndarray, hit: np.ndarray) -> tuple[Proportion, Proportion]:
        return (
            proportion(int((hit & positive).sum()), int(positive.sum()), minimum=MIN_POSITIVES),
            proportion(
                int((~hit & ~positive).sum()), int((~positive).sum()), minimum=MIN_NEGATIVES
            ),
        )

    mel_sens, mel_spec = sens_spec(melanoma, high)
    mal_sens, mal_spec = sens_spec(malignant, flagged)
    return ModelOutcomes(
        key=key,
        label=label,
        cases=len(cases),
        melanoma_sensitivity=mel_sens,
        melanoma_specificity=mel_spec,
        malignant_sensitivity=mal_sens,
        malignant_specificity=mal_spec,
        estimates=_estimates(cases, melanoma, malignant, rounds=rounds),
    )


def _estimates(cases: list[Case], melanoma, malignant, *, rounds: int) -> dict[str, dict]:
    """AUCs and ECE with patient-grouped bootstrap intervals, or "too few" with the counts."""
    mel_score = np.array([c.probabilities.get("mel", 0.0) for c in cases])
    mal_score = np.array([c.malignant_probability for c in cases])
    classes = sorted({code for c in cases for code in c.probabilities})
    known = np.array([c.diagnosis in classes for c in cases], dtype=bool)
    probs = np.array([[c.probabilities.get(k, 0.0) for k in classes] for c in cases])
    labels = np.array(
        [classes.index(c.diagnosis) if ok else -1 for c, ok in zip(cases, known, strict=True)]
    )

    def enough_auc(positive: np.ndarray) -> bool:
        return positive.sum() >= MIN_AUC_EACH and (~positive).sum() >= MIN_AUC_EACH

    def figures(rows: np.ndarray) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for name, positive, score in (
            ("melanoma_auc", melanoma, mel_score),
            ("malignant_auc", malignant, mal_score),
        ):
            y = positive[rows]
            out[name] = auc(y, score[rows])
        rows_known = rows[known[rows]]
        out["ece"] = (
            expected_calibration_error(probs[rows_known], labels[rows_known])
            if len(rows_known)
            else None
        )
        return out

    enough = {
        "melanoma_auc": enough_auc(melanoma),
        "malignant_auc": enough_auc(malignant),
        "ece": int(known.sum()) >= MIN_CALIBRATION_CASES,
    }
    point = figures(np.arange(len(cases))) if cases else {}
    intervals = {}
    if any(enough.values()) and rounds:
        groups = np.array([c.patient_id for c in cases])
        intervals = bootstrap_intervals(figures, groups, rounds=rounds)
    counts = {
        "melanoma_auc": {"positives": int(melanoma.sum()), "negatives": int((~melanoma).sum())},
        "malignant_auc": {"positives": int(malignant.sum()), "negatives": int((~malignant).sum())},
        "ece": {"cases": int(known.sum())},
    }
    return {
        name: {
            "value": point.get(name) if enough[name] else None,
            "interval": intervals.get(name) if enough[name] else None,
            "enough": enough[name],
            **counts[name],
        }
        for name in ("melanoma_auc", "malignant_auc", "ece")
    }


@dataclass(frozen=True)
class Miss:
    """A confirmed malignant lesion whose analysis said Low: for clinical review."""

    analysis_id: int
    lesion_id: int
    patient_id: int
    lesion_number: int
    diagnosis: str
    analysed_at: datetime.datetime
    model_label: str

    @property
    def is_melanoma(self) -> bool:
        return self.diagnosis in MELANOMA_CODES


def misses(
    clinic: Clinic, period: Period | None = None, *, melanoma_only: bool = False
) -> list[Miss]:
    """Finished analyses that said Low of lesions later confirmed malignant (newest first)."""
    codes = list(MELANOMA_CODES if melanoma_only else MALIGNANT)
    rows = Analysis.objects.filter(
        status=AnalysisStatus.DONE,
        result_state=ResultState.LOW,
        image__lesion__patient__clinic=clinic,
        image__lesion__confirmed_diagnosis__in=codes,
    )
    if period is not None:
        start, end = period.bounds()
        rows = rows.filter(created_at__gte=start, created_at__lt=end)
    values = rows.order_by("-created_at", "-pk").values_list(
        "pk",
        "image__lesion_id",
        "image__lesion__patient_id",
        "image__lesion__number",
        "image__lesion__confirmed_diagnosis",
        "created_at",
        "model_version_id",
        "model_id",
    )
    values = list(values)
    refs = model_refs({(v[6], v[7]) for v in values})
    return [
        Miss(pk, lesion, patient, number, dx, at, refs[(version, model)].label)
        for pk, lesion, patient, number, dx, at, version, model in values
    ]
