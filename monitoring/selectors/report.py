"""Everything the monitoring page, its CSV and its API show for one clinic and period."""

from __future__ import annotations

from dataclasses import dataclass

from lesions.models import Clinic
from monitoring.conditions import Condition, conditions_for
from monitoring.selectors.figures import ModelFigures, Period, period_figures
from monitoring.selectors.outcomes import Miss, ModelOutcomes, misses, outcome_figures


@dataclass(frozen=True)
class ClinicReport:
    clinic: Clinic
    period: Period
    figures: list[ModelFigures]
    outcomes: list[ModelOutcomes]
    conditions: list[Condition]  # what is out of bounds in this period (live, not recorded)
    misses: list[Miss]  # confirmed malignant lesions whose analysis in the period said Low


def clinic_report(clinic: Clinic, period: Period) -> ClinicReport:
    return ClinicReport(
        clinic=clinic,
        period=period,
        figures=period_figures(clinic, period),
        outcomes=outcome_figures(clinic, period),
        conditions=conditions_for(clinic, period),
        misses=misses(clinic, period),
    )
