"""The retraining guard: a candidate's report is stored with it, and activation consults it.

``check_activation`` is registered with ``classifier.services`` (monitoring's AppConfig), so
every activation — the admin's action, ``train_model --activate``, a script — passes
through it: a candidate whose latest champion/challenger report says it is worse beyond the
intervals (melanoma sensitivity, not-assessable share) is refused, unless a superuser
recorded a written reason for that report (``override_activation_guard``).
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from classifier.models import ModelVersion
from lesions.models import User
from monitoring.models import ActivationOverride, ChallengerReport

logger = logging.getLogger("monitoring.audit")

MIN_REASON_LENGTH = 20  # a written reason, not "ok"


class ActivationRefused(ValidationError):
    pass


def store_challenger_report(
    *, candidate: ModelVersion, champion_label: str, report: dict
) -> ChallengerReport:
    stored = ChallengerReport(
        candidate=candidate,
        champion_label=champion_label[:200],
        report=report,
        worse_on=list(report.get("worse_on") or []),
    )
    stored.full_clean()
    stored.save()
    return stored


def latest_report(version: ModelVersion) -> ChallengerReport | None:
    return ChallengerReport.objects.filter(candidate=version).first()


def check_activation(*, version: ModelVersion, activated_by: User | None = None) -> None:
    """Raise ActivationRefused when the latest report calls ``version`` worse, not overridden."""
    report = latest_report(version)
    if report is None or not report.worse_on:
        return
    if ActivationOverride.objects.filter(version=version, report=report).exists():
        logger.warning(
            "Activation of %s despite its report (%s), by %s: overridden.",
            version,
            "; ".join(report.worse_on),
            activated_by,
        )
        return
    raise ActivationRefused(
        f"{version} is worse than {report.champion_label} beyond the 95 % intervals on "
        f"{'; '.join(report.worse_on)} (champion/challenger report of "
        f"{report.created_at:%Y-%m-%d %H:%M}). A superuser may override with a written "
        "reason (admin: Monitoring → Activation overrides).",
        code="worse_than_champion",
    )


def check_override(*, version: ModelVersion, user: User, reason: str) -> ChallengerReport:
    """The report an override would lift; PermissionDenied or ValidationError if none may be."""
    if not (user.is_active and user.is_superuser):
        raise PermissionDenied("Only a superuser may override the retraining guard.")
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValidationError(
            {"reason": f"Write the reason out (at least {MIN_REASON_LENGTH} characters)."}
        )
    report = latest_report(version)
    if report is None or not report.worse_on:
        raise ValidationError(f"{version} is not refused by its report: nothing to override.")
    return report


def override_activation_guard(
    *, version: ModelVersion, user: User, reason: str
) -> ActivationOverride:
    """A superuser's written reason to activate despite the latest report (kept, never edited)."""
    reason = reason.strip()
    with transaction.atomic():
        report = check_override(version=version, user=user, reason=reason)
        override = ActivationOverride(
            version=version, report=report, reason=reason, created_by=user
        )
        override.full_clean()
        override.save()
    logger.warning("Guard override for %s by %s: %s", version, user, reason)
    return override
