"""Query filters (django-filter) for the list endpoints. A value a filter cannot use is a
400 naming the parameter, never a quietly unfiltered list."""

from __future__ import annotations

import django_filters

from lesions.models import Lesion, LesionImage, Patient, Review

BOOLEAN_VALUES = {"true", "false"}


class StrictFilterSet(django_filters.FilterSet):
    """django-filter refuses bad dates, numbers and choices, but reads any boolean it does
    not know ("maybe", "1") as "no filter": those are refused here too."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name, field in self.filters.items():
            raw = self.data.get(name)
            unknown = raw not in (None, "") and str(raw).lower() not in BOOLEAN_VALUES
            if isinstance(field, django_filters.BooleanFilter) and unknown:
                self.form.add_error(name, "Must be true or false.")
                valid = False
        return valid


class PatientFilter(StrictFilterSet):
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


class LesionFilter(StrictFilterSet):
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


class LesionImageFilter(StrictFilterSet):
    captured_after = django_filters.DateFilter(field_name="captured_on", lookup_expr="gte")
    captured_before = django_filters.DateFilter(field_name="captured_on", lookup_expr="lte")

    class Meta:
        model = LesionImage
        fields = ("modality", "captured_after", "captured_before")


class ReviewFilter(StrictFilterSet):
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
