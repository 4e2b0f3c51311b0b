"""Reviews (sign-offs) of analyses: what one says, and what a client sends to record one."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from lesions.models import ManagementDecision, Review, ReviewBasis, ReviewDiagnosis

from .auth import UserSummarySerializer

REVIEW_EXAMPLE = {
    "id": 14,
    "analysis": 88,
    "reviewer": {"id": 3, "username": "ames", "full_name": "Dr Ada Ames"},
    "agrees_with_model": False,
    "diagnosis": "other",
    "diagnosis_display": "Solar lentigo",
    "diagnosis_other": "Solar lentigo",
    "basis": "clinical",
    "management": "short_term_recheck",
    "note": "Irregular border; recheck in 3 months.",
    "supersedes": 11,
    "superseded_by": None,
    "current": True,
    "created_at": "2026-03-02T11:20:00Z",
}


@extend_schema_serializer(
    examples=[OpenApiExample("A review", value=REVIEW_EXAMPLE, response_only=True)]
)
class ReviewSerializer(serializers.ModelSerializer):
    """A clinician's sign-off of one analysis. Never changed: a later review of the same
    analysis supersedes it (``superseded_by``), and only the newest is ``current``."""

    reviewer = UserSummarySerializer()
    diagnosis_display = serializers.CharField(
        help_text="The diagnosis by name; the reviewer's own text when it is `other`."
    )
    superseded_by = serializers.SerializerMethodField(
        help_text="The later review of the same analysis that replaced this one."
    )
    current = serializers.SerializerMethodField(help_text="No later review replaced this one.")

    class Meta:
        model = Review
        fields = (
            "id",
            "analysis",
            "reviewer",
            "agrees_with_model",
            "diagnosis",
            "diagnosis_display",
            "diagnosis_other",
            "basis",
            "management",
            "note",
            "supersedes",
            "superseded_by",
            "current",
            "created_at",
        )
        read_only_fields = fields

    def get_superseded_by(self, review: Review) -> int | None:
        # The selectors join ``superseded_by`` in, so this reads no more rows.
        try:
            return review.superseded_by.pk
        except Review.DoesNotExist:
            return None

    def get_current(self, review: Review) -> bool:
        return self.get_superseded_by(review) is None


CLINIC_REVIEW_EXAMPLE = {**REVIEW_EXAMPLE, "image": 57, "lesion": 31, "patient": 12}


@extend_schema_serializer(
    examples=[
        OpenApiExample("A review in the clinic", value=CLINIC_REVIEW_EXAMPLE, response_only=True)
    ]
)
class ClinicReviewSerializer(ReviewSerializer):
    """A review in the clinic's list, with the image, lesion and patient it concerns."""

    image = serializers.IntegerField(source="analysis.image_id")
    lesion = serializers.IntegerField(source="analysis.image.lesion_id")
    patient = serializers.IntegerField(source="analysis.image.lesion.patient_id")

    class Meta(ReviewSerializer.Meta):
        fields = (*ReviewSerializer.Meta.fields, "image", "lesion", "patient")
        read_only_fields = fields


class ReviewCreateSerializer(serializers.Serializer):
    """Agree with the model, or name another diagnosis. The review service checks the rest
    (a finished analysis only; the lesion's confirmed diagnosis from histopathology)."""

    agrees_with_model = serializers.BooleanField(
        help_text="True: the model's top class is the diagnosis (`diagnosis` is ignored)."
    )
    diagnosis = serializers.ChoiceField(
        choices=ReviewDiagnosis.choices,
        required=False,
        help_text="Required when not agreeing; `other` needs `diagnosis_other`.",
    )
    diagnosis_other = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Only with `other`."
    )
    basis = serializers.ChoiceField(choices=ReviewBasis.choices)
    management = serializers.ChoiceField(choices=ManagementDecision.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000)

    def validate(self, data: dict) -> dict:
        # The same checks, with the same words, as the web page's review form.
        if data["agrees_with_model"]:
            return data
        if not data.get("diagnosis"):
            raise serializers.ValidationError(
                {"diagnosis": "Choose the diagnosis, or agree with the model."}, code="required"
            )
        described = data.get("diagnosis_other", "").strip()
        if data["diagnosis"] == ReviewDiagnosis.OTHER and not described:
            raise serializers.ValidationError(
                {"diagnosis_other": "Describe the other diagnosis."}, code="required"
            )
        return data
