"""Clinic scoping and read auditing for the admin, in one mixin every clinical ModelAdmin uses.

Staff see every clinic's records only with the explicit permission
``lesions.review_all_clinics`` (superusers have every permission); give it directly or
through a group such as "Cross-clinic reviewers". Other staff see the records of their
own clinic, and none if they belong to no clinic. A record outside that scope answers
404 on every admin URL that names it, as the clinical pages do.

Use: ``class ReviewAdmin(ClinicScopedAdmin, admin.ModelAdmin)`` with ``clinic_lookup``
the path from the model to its clinic (e.g. ``"analysis__image__lesion__patient__clinic"``)
and, for patient data, ``audited_record`` returning the Patient, Lesion or LesionImage whose
change page read is recorded as "viewed".
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from lesions.models import Clinic, Lesion, LesionImage, Patient, User
from lesions.services.audit import AuditedRecord, record_view

CROSS_CLINIC_PERMISSION = "lesions.review_all_clinics"


def sees_all_clinics(user: User) -> bool:
    return user.is_active and user.has_perm(CROSS_CLINIC_PERMISSION)


def scope_to_clinic(queryset: QuerySet, user: User, clinic_lookup: str) -> QuerySet:
    """``queryset`` as ``user`` may see it in the admin."""
    if sees_all_clinics(user):
        return queryset
    if user.clinic_id is None:
        return queryset.none()
    return queryset.filter(**{clinic_lookup: user.clinic_id})


# Foreign keys whose choices (select boxes, autocompletes) are scoped like the lists.
_CLINIC_LOOKUPS = {
    Clinic: "pk",
    Patient: "clinic",
    Lesion: "patient__clinic",
    LesionImage: "lesion__patient__clinic",
}


class ClinicScopedAdmin(admin.ModelAdmin):
    clinic_lookup: str = "clinic"
    # "12 of 260,000" needs a COUNT of the whole unfiltered table on every list load.
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scope_to_clinic(super().get_queryset(request), request.user, self.clinic_lookup)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        found = super().get_object(request, object_id, from_field)
        if found is None:
            # Not "deleted perhaps?" with a redirect: another clinic's record does not exist.
            raise Http404("No such record.")
        return found

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        lookup = _CLINIC_LOOKUPS.get(db_field.related_model)
        if lookup is not None and "queryset" not in kwargs:
            kwargs["queryset"] = scope_to_clinic(
                db_field.related_model._default_manager.all(), request.user, lookup
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def audited_record(self, obj: Model) -> AuditedRecord | None:
        """The clinical record a read of ``obj``'s page is audited as (None: not audited)."""
        return None

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        response = super().changeform_view(request, object_id, form_url, extra_context)
        if object_id and request.method == "GET" and response.status_code == 200:
            target = self.audited_record(self.get_object(request, unquote(object_id)))
            if target is not None:
                record_view(actor=request.user, target=target)
        return response


class ClinicFilter(admin.RelatedFieldListFilter):
    """Offers the clinics the user may see, read from the small clinics table (not a
    DISTINCT over the listed rows, which on the audit trail read every event)."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin):
        clinics = scope_to_clinic(Clinic.objects.order_by("name"), request.user, "pk")
        return [(clinic.pk, str(clinic)) for clinic in clinics]
