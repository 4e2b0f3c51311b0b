"""``{% pacs_panel patient %}``: the patient page's FHIR download, "Send to PACS" button and
the latest send's status. A template tag, so the lesions app's views need not know interop."""

from __future__ import annotations

from django import template
from django.conf import settings

from interop import selectors
from lesions.models import Patient

register = template.Library()


@register.inclusion_tag("interop/pacs_panel.html", takes_context=True)
def pacs_panel(context: template.Context, patient: Patient) -> dict:
    pacs_on = bool(settings.DERMASCAN_PACS_URL)
    return {
        "patient": patient,
        "csrf_token": context.get("csrf_token"),
        "pacs_on": pacs_on,
        # Sending is off without a PACS: no status to show, and no query on every patient page.
        "send": selectors.latest_send_of(patient) if pacs_on else None,
    }
