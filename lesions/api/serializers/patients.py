from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from lesions.models import Patient
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
                "created_at": "2026-01-10T09:30:00Z",
                "updated_at": "2026-02-01T14:05:00Z",
            },
            response_only=True,
        )
    ]
)
class PatientSerializer(serializers.ModelSerializer):
    name = serializers.CharField(
        read_only=True, help_text="Display name, given names first (read only)."
    )
    lesion_count = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = (
            "id",
            *PATIENT_EDITABLE_FIELDS,
            "name",
            "lesion_count",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "name", "lesion_count", "created_at", "updated_at")

    def get_lesion_count(self, patient: Patient) -> int:
        # Lists annotate it (one query for the page); a single patient counts its own.
        count = getattr(patient, "lesion_count", None)
        return patient.lesions.count() if count is None else count
