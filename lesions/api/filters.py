"""Query filters (django-filter) for the list endpoints."""

from __future__ import annotations

import django_filters

from lesions.models import Lesion, LesionImage, Patient, Review


class PatientFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", label="Part of the name or of the medical record number."
    )
    born_after = django_filters.DateFilter(field_name="date_of_birth", lookup_expr="gte")
    born_before = django_filters.DateFilter(field_name="date_of_birth", lookup_expr="lte")

    class Meta:
        model = Patient
        fields = ("search", "sex", "fitzpatrick_skin_type", "born_after", "born_before")

    def filter_search(self, queryset, name: str, value: str):
        return queryset.search(value)  # the same search as the patient list page


class LesionFilter(django_filters.FilterSet):
    next_review_before = django_filters.DateFilter(
        field_name="next_review_on", lookup_expr="lte", label="Next review on or before."
    )

    class Meta:
        model = Lesion
        fields = (
            "status",
            "body_site",
            "body_view",
            "confirmed_diagnosis",
            "evolving",
            "next_review_before",
        )


class LesionImageFilter(django_filters.FilterSet):
    captured_after = django_filters.DateFilter(field_name="captured_on", lookup_expr="gte")
    captured_before = django_filters.DateFilter(field_name="captured_on", lookup_expr="lte")

    class Meta:
        model = LesionImage
        fields = ("modality", "captured_after", "captured_before")


class ReviewFilter(django_filters.FilterSet):
    # Plain numbers, not choices of records: an id of another clinic filters to nothing
    # rather than answering "not a valid choice", which would tell that it exists.
    patient = django_filters.NumberFilter(field_name="analysis__image__lesion__patient_id")
    lesion = django_filters.NumberFilter(field_name="analysis__image__lesion_id")
    analysis = django_filters.NumberFilter(field_name="analysis_id")
    reviewer = django_filters.NumberFilter(field_name="reviewer_id")
    current = django_filters.BooleanFilter(
        field_name="superseded_by", lookup_expr="isnull", label="Only reviews still in force."
    )
    reviewed_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    reviewed_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")

    class Meta:
        model = Review
        fields = (
            "patient",
            "lesion",
            "analysis",
            "reviewer",
            "diagnosis",
            "basis",
            "management",
            "agrees_with_model",
            "current",
            "reviewed_after",
            "reviewed_before",
        )
