"""Query filters (django-filter) for the list endpoints."""

from __future__ import annotations

import django_filters

from lesions.models import Lesion, LesionImage, Patient


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
    class Meta:
        model = Lesion
        fields = ("status", "body_site", "body_view", "confirmed_diagnosis")


class LesionImageFilter(django_filters.FilterSet):
    captured_after = django_filters.DateFilter(field_name="captured_on", lookup_expr="gte")
    captured_before = django_filters.DateFilter(field_name="captured_on", lookup_expr="lte")

    class Meta:
        model = LesionImage
        fields = ("modality", "captured_after", "captured_before")
