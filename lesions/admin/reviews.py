"""Reviews in the admin: read-only records, with how often reviewers agreed with the model.

Reviews are written by clinicians through ``record_review`` and never edited, so the
admin lists them and offers no add, change or delete.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from lesions import selectors
from lesions.admin.scoping import ClinicScopedAdmin
from lesions.models import Review
from lesions.services.audit import AuditedRecord


@admin.register(Review)
class ReviewAdmin(ClinicScopedAdmin):
    clinic_lookup = "analysis__image__lesion__patient__clinic"
    list_display = [
        "created_at",
        "patient",
        "lesion",
        "model_said",
        "diagnosis_shown",
        "agrees_with_model",
        "basis",
        "management",
        "reviewer",
        "superseded",
    ]
    list_filter = ["agrees_with_model", "basis", "management", "analysis__top_class"]
    list_select_related = ["analysis__image__lesion__patient", "reviewer", "superseded_by"]
    search_fields = ["analysis__image__lesion__patient__medical_record_number", "note"]
    date_hierarchy = "created_at"
    change_list_template = "admin/lesions/review/change_list.html"

    def audited_record(self, obj: Review) -> AuditedRecord:
        return obj

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Review | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Review | None = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        agreement = selectors.review_agreement(self.get_queryset(request))
        extra_context = {**(extra_context or {}), "agreement": agreement}
        return super().changelist_view(request, extra_context=extra_context)

    @admin.display(description="patient", ordering="analysis__image__lesion__patient__family_name")
    def patient(self, review: Review) -> str:
        return str(review.analysis.image.lesion.patient)

    @admin.display(description="lesion")
    def lesion(self, review: Review) -> str:
        return review.analysis.image.lesion.label

    @admin.display(description="model said", ordering="analysis__top_class")
    def model_said(self, review: Review) -> str:
        return review.analysis.top_class_display

    @admin.display(description="reviewer's diagnosis")
    def diagnosis_shown(self, review: Review) -> str:
        return review.diagnosis_display

    @admin.display(description="superseded", boolean=True)
    def superseded(self, review: Review) -> bool:
        return hasattr(review, "superseded_by")
