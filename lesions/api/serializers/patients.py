from __future__ import annotations

from rest_framework import serializers

from lesions.models import Patient
from lesions.services.patients import PATIENT_EDITABLE_FIELDS


class PatientSerializer(serializers.ModelSerializer):
    lesion_count = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = ("id", *PATIENT_EDITABLE_FIELDS, "lesion_count", "created_at", "updated_at")
        read_only_fields = ("id", "lesion_count", "created_at", "updated_at")

    def get_lesion_count(self, patient: Patient) -> int:
        # Lists annotate it (one query for the page); a single patient counts its own.
        count = getattr(patient, "lesion_count", None)
        return patient.lesions.count() if count is None else count
