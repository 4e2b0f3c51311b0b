from __future__ import annotations

import datetime

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from lesions.api.serializers.base import RefusesReadOnlyFields
from lesions.models import Patient
from lesions.selectors import next_visit_of
from lesions.services.patients import PATIENT_EDITABLE_FIELDS


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A patient",
            value={
                "id": 12,
                "medical_record_number": "MRN-001234",
                "family_name": "Doe",
                "given_names": "Jane",
                "name": "Jane Doe",
                "date_of_birth": "1970-05-17",
                "sex": "female",
                "fitzpatrick_skin_type": 2,
                "notes": "Family history of melanoma.",
                "lesion_count": 3,
                "evolving_count": 1,
                "next_visit_on": "2026-03-02",
                "created_at": "2026-01-10T09:30:00Z",
                "updated_at": "2026-02-01T14:05:00Z",
            },
            response_only=True,
        )
    ]
)
class PatientSerializer(RefusesReadOnlyFields, serializers.ModelSerializer):
    name = serializers.CharField(
        read_only=True, help_text="Display name, given names first (read only)."
    )
    lesion_count = serializers.SerializerMethodField()
    evolving_count = serializers.SerializerMethodField(
        help_text="Followed lesions flagged evolving."
    )
    next_visit_on = serializers.SerializerMethodField(
        help_text="The earliest next review of the patient's followed lesions; null if none."
    )

    class Meta:
        model = Patient
        fields = (
            "id",
            *PATIENT_EDITABLE_FIELDS,
            "name",
            "lesion_count",
            "evolving_count",
            "next_visit_on",
            "created_at",
            "updated_at",
        )
        read_only_fields = (
            "id",
            "name",
            "lesion_count",
            "evolving_count",
            "next_visit_on",
            "created_at",
            "updated_at",
        )

    def get_lesion_count(self, patient: Patient) -> int:
        # Lists annotate it (one query for the page); a single patient counts its own.
        count = getattr(patient, "lesion_count", None)
        return patient.lesions.count() if count is None else count

    # Lists annotate these too (selectors.patients_for); a single patient asks its lesions.

    def get_evolving_count(self, patient: Patient) -> int:
        count = getattr(patient, "evolving_count", None)
        if count is None:
            return patient.lesions.followed_up().filter(evolving=True).count()
        return count

    def get_next_visit_on(self, patient: Patient) -> datetime.date | None:
        if hasattr(patient, "next_visit_on"):
            return patient.next_visit_on
        return next_visit_of(list(patient.lesions.all()))


class PatientSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    medical_record_number = serializers.CharField()
    name = serializers.CharField()
