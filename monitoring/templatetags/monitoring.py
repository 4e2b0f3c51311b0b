"""Filters of the monitoring pages, and the open-alerts box of the admin index."""

from __future__ import annotations

from django import template

from lesions.models import ConfirmedDiagnosis
from monitoring.models import AlertKind
from monitoring.selectors import open_alerts_for

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


@register.filter
def alert_label(kind: str) -> str:
    return dict(AlertKind.choices).get(kind, kind)


@register.filter
def diagnosis_label(code: str) -> str:
    return dict(ConfirmedDiagnosis.choices).get(code, code)


@register.inclusion_tag("monitoring/includes/admin_alerts.html", takes_context=True)
def monitoring_alerts(context) -> dict:
    """The open alerts of the clinics the signed-in user monitors (none without access)."""
    user = context["request"].user
    return {"alerts": list(open_alerts_for(user)[:20]), "total": open_alerts_for(user).count()}
