"""Every read of monitoring, scoped to the clinics a user may see (``access``)."""

from .access import clinic_for, clinics_for, may_monitor
from .alerts import alert_summary, open_alerts_for
from .figures import ModelFigures, Period, period_figures
from .outcomes import Miss, ModelOutcomes, misses, outcome_figures

__all__ = [
    "alert_summary",
    "Miss",
    "ModelFigures",
    "ModelOutcomes",
    "Period",
    "clinic_for",
    "clinics_for",
    "may_monitor",
    "misses",
    "open_alerts_for",
    "outcome_figures",
    "period_figures",
]
