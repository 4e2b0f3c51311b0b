"""Who sees which clinic's monitoring: superusers every clinic (each separately), staff with
``monitoring.view_monitoring`` their own clinic, everyone else none."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from lesions.models import Clinic, User

PERMISSION = "monitoring.view_monitoring"


def may_monitor(user: User) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or (user.clinic_id is not None and user.has_perm(PERMISSION))


def clinics_for(user: User) -> QuerySet[Clinic]:
    if not may_monitor(user):
        return Clinic.objects.none()
    if user.is_superuser:
        return Clinic.objects.order_by("name")
    return Clinic.objects.filter(pk=user.clinic_id)


def clinic_for(user: User, clinic_pk: int) -> Clinic:
    """The clinic, or 404 (also for a clinic that exists but is not the user's)."""
    clinic = clinics_for(user).filter(pk=clinic_pk).first()
    if clinic is None:
        raise Http404("No such clinic.")
    return clinic
