from __future__ import annotations

import datetime

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from lesions.models import Lesion
from lesions.services.lesions import LESION_EDITABLE_FIELDS


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A lesion on the back",
            value={
                "id": 31,
                "patient": 12,
                "label": "left shoulder mole",
                "body_site": "back",
                "body_view": "back",
                "map_x": 0.62,
                "map_y": 0.24,
                "status": "monitoring",
                "first_noted_on": "2026-01-10",
                "confirmed_diagnosis": "",
                "image_count": 2,
                "last_captured_on": "2026-03-02",
                "created_at": "2026-01-10T09:32:00Z",
                "updated_at": "2026-03-02T10:00:00Z",
            },
            response_only=True,
        )
    ]
)
class LesionSerializer(serializers.ModelSerializer):
    """A lesion with where it sits on the body map (x, y in 0..1 of the front or back view)."""

    image_count = serializers.SerializerMethodField()
    last_captured_on = serializers.SerializerMethodField()

    class Meta:
        model = Lesion
        fields = (
            "id",
            "patient",
            *LESION_EDITABLE_FIELDS,
            "image_count",
            "last_captured_on",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "patient", "created_at", "updated_at")

    def get_image_count(self, lesion: Lesion) -> int:
        count = getattr(lesion, "image_count", None)
        return lesion.images.count() if count is None else count

    def get_last_captured_on(self, lesion: Lesion) -> datetime.date | None:
        if hasattr(lesion, "last_captured_on"):
            return lesion.last_captured_on
        last = lesion.images.in_capture_order().last()
        return last.captured_on if last else None
