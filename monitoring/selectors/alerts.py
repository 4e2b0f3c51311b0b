"""Recorded alerts a user may see."""

from __future__ import annotations

from django.db.models import QuerySet

from lesions.models import User
from monitoring.models import Alert
from monitoring.selectors.access import clinics_for


def open_alerts_for(user: User, *, clinic_id: int | None = None) -> QuerySet[Alert]:
    """Open alerts of the clinics ``user`` monitors (one clinic's when ``clinic_id`` is given)."""
    alerts = Alert.objects.open().for_clinics(clinics_for(user).values("pk"))
    if clinic_id is not None:
        alerts = alerts.filter(clinic_id=clinic_id)
    return alerts.select_related("clinic")


def alert_summary(user: User) -> dict:
    """For /health/'s detailed view (staff): open alerts in words, no patient identifiers."""
    alerts = list(open_alerts_for(user).order_by("-raised_at")[:20])
    return {
        "open_alerts": open_alerts_for(user).count(),
        "alerts": [
            {
                "clinic": alert.clinic.name,
                "kind": alert.kind,
                "model": alert.model_label,
                "raised_at": alert.raised_at.isoformat(),
            }
            for alert in alerts
        ],
    }
