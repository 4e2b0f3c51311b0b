from __future__ import annotations

import datetime

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from lesions.api.serializers.base import RefusesReadOnlyFields
from lesions.models import Lesion
from lesions.services.follow_up import FOLLOW_UP_FIELDS
from lesions.services.lesions import LESION_EDITABLE_FIELDS


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A lesion on the back",
            value={
                "id": 31,
                "patient": 12,
                "number": 3,
                "label": "left shoulder mole",
                "body_site": "back",
                "body_view": "back",
                "map_x": 0.62,
                "map_y": 0.24,
                "status": "monitoring",
                "first_noted_on": "2026-01-10",
                "notes": "Itches since spring; patient noticed darker edge.",
                "confirmed_diagnosis": "",
                "image_count": 2,
                "last_captured_on": "2026-03-02",
                "evolving": True,
                "evolving_reason": (
                    "malignant probability 0.08 → 0.61; risk Low → High "
                    "between 10 Jan 2026 and 2 Mar 2026"
                ),
                "evolving_since": "2026-03-02T10:00:02Z",
                "next_review_on": "2026-03-02",
                "next_review_reason": "Evolving",
                "suggested_review_on": "2026-03-02",
                "suggested_review_reason": "Evolving",
                "next_review_set_by_hand": False,
                "created_at": "2026-01-10T09:32:00Z",
                "updated_at": "2026-03-02T10:00:00Z",
            },
            response_only=True,
        )
    ]
)
class LesionSerializer(RefusesReadOnlyFields, serializers.ModelSerializer):
    """A lesion with where it sits on the body map (x, y in 0..1 of the front or back view).

    ``number`` is the lesion's number on its patient's body map: stable, never reused.

    ``evolving`` (with ``evolving_reason`` and ``evolving_since``) flags a lesion whose later
    visit's result is worse than the previous visit's; ``next_review_on`` is suggested from
    the latest result or review (``next_review_reason`` says which) and changed with
    ``PUT /api/v1/lesions/{id}/next-review/``. A date set that way is the clinician's
    (``next_review_set_by_hand``): later results and reviews only update
    ``suggested_review_on`` / ``suggested_review_reason`` beside it. ``status`` follows each
    review's management decision (referred, excision planned, excised, discharged,
    monitoring). The server keeps the follow-up fields up to date.
    """

    image_count = serializers.SerializerMethodField()
    last_captured_on = serializers.SerializerMethodField()

    class Meta:
        model = Lesion
        fields = (
            "id",
            "patient",
            "number",
            *LESION_EDITABLE_FIELDS,
            "image_count",
            "last_captured_on",
            "confirmed_diagnosis",
            *FOLLOW_UP_FIELDS,
            "next_review_set_by_hand",
            "created_at",
            "updated_at",
        )
        # The confirmed diagnosis is set by a review with histopathology as its basis.
        read_only_fields = (
            "id",
            "patient",
            "number",
            "confirmed_diagnosis",
            *FOLLOW_UP_FIELDS,
            "next_review_set_by_hand",
            "created_at",
            "updated_at",
        )

    def get_image_count(self, lesion: Lesion) -> int:
        count = getattr(lesion, "image_count", None)
        return lesion.images.count() if count is None else count

    def get_last_captured_on(self, lesion: Lesion) -> datetime.date | None:
        if hasattr(lesion, "last_captured_on"):
            return lesion.last_captured_on
        last = lesion.images.in_capture_order().last()
        return last.captured_on if last else None


class LesionSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()


class NextReviewSerializer(serializers.Serializer):
    next_review_on = serializers.DateField(
        allow_null=True,
        required=False,
        help_text=(
            "The clinician's date for the next review (not in the past); null for none. "
            "Kept: later results and reviews only suggest a date beside it."
        ),
    )
    use_suggestion = serializers.BooleanField(
        default=False,
        help_text="True: drop the date set by hand and follow the suggestions again.",
    )

    def validate(self, data: dict) -> dict:
        if not data["use_suggestion"] and "next_review_on" not in data:
            raise serializers.ValidationError(
                {"next_review_on": "Give a date (or null), or use the suggestion."},
                code="required",
            )
        return data
