"""Recording alerts: once per condition while it lasts, resolved when it clears."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from lesions.models import Clinic, User
from monitoring.conditions import Condition, conditions_for
from monitoring.models import Alert, AlertKind
from monitoring.selectors.figures import Period

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertCheck:
    raised: int
    still_open: int
    resolved: int


def record_alerts(*, now: datetime.datetime | None = None) -> AlertCheck:
    """Check every clinic over the trailing window and record what left its bounds.

    Idempotent: a condition that already has an unresolved alert only refreshes its
    ``last_seen_at``; a condition that no longer holds resolves its alert (a missed
    melanoma never resolves by itself: staff acknowledge it once reviewed).
    """
    now = now or timezone.now()
    days = settings.DERMASCAN_MONITORING_WINDOW_DAYS
    period = Period.ending(timezone.localdate(now), days=days)
    raised = seen = resolved = 0
    for clinic in Clinic.objects.order_by("pk"):
        conditions = conditions_for(clinic, period)
        for condition in conditions:
            created = _record(clinic, condition, now)
            raised += created
            seen += not created
        resolved += _resolve_cleared(clinic, {c.key for c in conditions}, now)
    if raised or resolved:
        logger.warning("Monitoring: %s new alert(s), %s resolved.", raised, resolved)
    return AlertCheck(raised=raised, still_open=seen, resolved=resolved)


def _record(clinic: Clinic, condition: Condition, now: datetime.datetime) -> bool:
    """True when a new alert was written; False when the same one was already there."""
    try:
        with transaction.atomic():
            alert, created = Alert.objects.select_for_update().get_or_create(
                clinic=clinic,
                key=condition.key,
                resolved_at=None,
                defaults={
                    "kind": condition.kind,
                    "model_label": condition.model_label[:200],
                    "message": condition.message,
                    "figures": condition.figures,
                    "raised_at": now,
                    "last_seen_at": now,
                },
            )
            if not created:
                alert.last_seen_at = now
                alert.message, alert.figures = condition.message, condition.figures
                alert.save(update_fields=["last_seen_at", "message", "figures"])
    except IntegrityError:  # another check recorded it at the same moment
        return False
    return created


def _resolve_cleared(clinic: Clinic, keys: set[str], now: datetime.datetime) -> int:
    return (
        Alert.objects.filter(clinic=clinic, resolved_at__isnull=True)
        .exclude(kind=AlertKind.MELANOMA_MISSED)
        .exclude(key__in=keys)
        .update(resolved_at=now)
    )


def acknowledge_alert(*, alert: Alert, user: User) -> Alert:
    """Staff have seen it (and, for a missed melanoma, reviewed the case)."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.acknowledged_at is None:
            alert.acknowledged_at, alert.acknowledged_by = timezone.now(), user
            alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert
