"""The worklist: the home page's four sections, as JSON."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from lesions.follow_up.worklist import Section
from lesions.models import Analysis, Lesion, ResultState

from .lesions import LesionSummarySerializer
from .patients import PatientSummarySerializer

SECTION_KEYS = [
    "review",
    "evolving",
    "due",
    "failed",
]  # lesions.follow_up.worklist.worklist_for's order


URL = "/api/v1/worklist/"  # the examples' links


class WorklistRowSerializer(serializers.Serializer):
    patient = PatientSummarySerializer()
    lesion = LesionSummarySerializer()
    evolving = serializers.BooleanField(help_text="The lesion is flagged evolving.")
    analysis = serializers.IntegerField(
        allow_null=True, help_text="The result to review or the failed analysis (review, failed)."
    )
    image = serializers.IntegerField(allow_null=True, help_text="That analysis's image.")
    result_state = serializers.ChoiceField(
        choices=ResultState.choices,
        allow_null=True,
        help_text="The result (review), or the lesion's newest result (evolving, due).",
    )
    top_class_display = serializers.CharField(help_text="The model's top class (review).")
    date = serializers.DateField(
        allow_null=True,
        help_text=(
            "review, failed: when the analysis finished; evolving: when the change was seen; "
            "due: the next-review date."
        ),
    )
    reason = serializers.CharField(
        help_text=(
            "review: the result's state reason; evolving: what changed; due: why this date; "
            "failed: why it failed."
        )
    )


class WorklistSectionSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=SECTION_KEYS)
    title = serializers.CharField()
    count = serializers.IntegerField(help_text="All the section's items (`rows` shows the first).")
    rows = WorklistRowSerializer(many=True)
    url = serializers.CharField(
        help_text="Every row of the section, paginated like every list (`?page=`)."
    )


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A worklist",
            value={
                "sections": [
                    {
                        "key": "review",
                        "title": "Results waiting for review",
                        "count": 1,
                        "rows": [
                            {
                                "patient": {
                                    "id": 12,
                                    "medical_record_number": "MRN-001234",
                                    "name": "Jane Doe",
                                },
                                "lesion": {"id": 31, "label": "left shoulder mole"},
                                "evolving": True,
                                "analysis": 88,
                                "image": 57,
                                "result_state": "high",
                                "top_class_display": "Melanoma",
                                "date": "2026-03-02",
                                "reason": "",
                            }
                        ],
                        "url": f"{URL}review/",
                    },
                    *(
                        {"key": key, "title": title, "count": 0, "rows": [], "url": f"{URL}{key}/"}
                        for key, title in (
                            ("evolving", "Evolving lesions"),
                            ("due", "Follow-ups due or overdue"),
                            ("failed", "Failed analyses"),
                        )
                    ),
                ]
            },
            response_only=True,
        )
    ]
)
class WorklistSerializer(serializers.Serializer):
    """What needs a clinician: results to sign off (High and uncertain first), lesions that
    changed, follow-ups due or overdue, and analyses that failed."""

    sections = WorklistSectionSerializer(many=True)


def worklist_body(sections: list[Section]) -> dict[str, Any]:
    """The selectors' sections as the serializer's rows (the same rows as the home page)."""
    return {
        "sections": [
            {
                "key": section.key,
                "title": section.title,
                "count": section.count,
                "rows": [worklist_row(section.key, row) for row in section.rows],
                "url": reverse("api:worklist-section", kwargs={"section": section.key}),
            }
            for section in sections
        ]
    }


def worklist_row(key: str, row: Analysis | Lesion) -> dict[str, Any]:
    """One row of section ``key`` as WorklistRowSerializer takes it."""
    if isinstance(row, Analysis):
        lesion = row.image.lesion
        return {
            "patient": lesion.patient,
            "lesion": lesion,
            "evolving": lesion.evolving,
            "analysis": row.pk,
            "image": row.image_id,
            "result_state": row.result_state or None,
            "top_class_display": row.class_shown if key == "review" else "",
            "date": timezone.localdate(row.finished_at) if row.finished_at else None,
            "reason": row.failure_reason if key == "failed" else row.state_reason,
        }
    return {
        "patient": row.patient,
        "lesion": row,
        "evolving": row.evolving,
        "analysis": None,
        "image": None,
        "result_state": row.latest_state or None,
        "top_class_display": "",
        "date": (
            row.next_review_on
            if key == "due"
            else (timezone.localdate(row.evolving_since) if row.evolving_since else None)
        ),
        "reason": row.next_review_reason if key == "due" else row.evolving_reason,
    }
