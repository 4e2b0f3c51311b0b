"""The periodic check (celery beat, CELERY_BEAT_SCHEDULE "monitoring-check-alerts")."""

from __future__ import annotations

from celery import shared_task

from monitoring.services.alerts import record_alerts


@shared_task(name="monitoring.tasks.check_alerts", soft_time_limit=240, time_limit=300)
def check_alerts() -> dict:
    """Record every clinic's alerts over the trailing window; idempotent, so safe to repeat."""
    result = record_alerts()
    return {"raised": result.raised, "still_open": result.still_open, "resolved": result.resolved}
