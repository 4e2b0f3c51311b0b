from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from lesions.api.base import NOT_A_DIAGNOSTIC_DEVICE, link_for
from lesions.follow_up.headline import SPECIALIST, headline_for
from lesions.models import Analysis, AnalysisStatus, ResultState

from .images import LesionImageSerializer
from .reviews import REVIEW_EXAMPLE, ReviewSerializer


class ServedModelSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        allow_null=True, help_text="Registered version number; null for the default model."
    )
    model_id = serializers.CharField()
    sha256 = serializers.CharField(help_text="SHA-256 of the weights.")


# What the schema shows (Swagger UI, ReDoc, the docs of generated clients).
FINISHED_EXAMPLE = {
    "id": 88,
    "image": 57,
    "status": "done",
    "failure_reason": "",
    "result_state": "inconclusive",
    "state_reason": "Low confidence: consider a specialist's opinion.",
    "top_class": "mel",
    "top_class_display": "Melanoma",
    "confidence": 0.55,
    "probabilities": {
        "akiec": 0.07,
        "bcc": 0.07,
        "bkl": 0.08,
        "df": 0.07,
        "mel": 0.55,
        "nv": 0.09,
        "vasc": 0.07,
    },
    "uncertain": True,
    "uncertainty_message": "Low confidence: consider a specialist's opinion.",
    "risk_level": "high",
    "recommended_action": "Refer to a dermatologist within two weeks.",
    "malignant_probability": 0.6,
    "tta_views": 8,
    "model": {"version": 3, "model_id": "ham7-lite0-192-s0", "sha256": "8a1a…"},
    "heatmap_url": "/api/v1/analyses/88/heatmap/",
    "created_at": "2026-03-02T10:00:00Z",
    "started_at": "2026-03-02T10:00:01Z",
    "finished_at": "2026-03-02T10:00:02Z",
    "inference_ms": 180,
    "current_review": {**REVIEW_EXAMPLE, "analysis": 88},
    "notice": "Not a diagnostic device: decision support for clinicians, not a diagnosis.",
    "headline": {
        "title": "High risk",
        "meaning": "Melanoma probability 55 % is at or above the High threshold: melanoma "
        "must be ruled out.",
        "action": "Examine with dermoscopy; excision biopsy to be considered.",
        "driver": "",
        "class_line": "Most likely: Melanoma 55 %",
    },
}
QUEUED_EXAMPLE = {
    **FINISHED_EXAMPLE,
    **dict.fromkeys(["result_state", "confidence", "malignant_probability"]),
    **dict.fromkeys(["state_reason", "top_class", "top_class_display", "risk_level"], ""),
    **dict.fromkeys(["uncertainty_message", "recommended_action"], ""),
    **dict.fromkeys(["model", "heatmap_url", "started_at", "finished_at", "tta_views"]),
    "current_review": None,
    "headline": None,
    "status": "queued",
    "probabilities": {},
    "uncertain": False,
    "inference_ms": None,
}


class HeadlineSerializer(serializers.Serializer):
    title = serializers.CharField(help_text="The risk: High risk, Moderate risk, …")
    meaning = serializers.CharField(help_text="What it means, with the deciding number.")
    action = serializers.CharField(help_text="What to do, for the clinic's audience.")
    driver = serializers.CharField(
        help_text="The probability that drove the risk, when the "
        "top class does not explain it; else empty."
    )
    class_line = serializers.CharField(
        help_text="“Most likely: …” or “Highest-probability "
        "class: …”; empty when no class is shown."
    )


@extend_schema_serializer(
    examples=[
        OpenApiExample("A finished analysis", value=FINISHED_EXAMPLE, response_only=True),
        OpenApiExample("A queued analysis", value=QUEUED_EXAMPLE, response_only=True),
    ]
)
class AnalysisSerializer(serializers.ModelSerializer):
    """One run of the classifier on one image; the result fields are set once it is done.

    ``result_state`` is the one message to show (not_assessable, inconclusive, high,
    moderate, low; null until done); ``state_reason`` says why when not assessable or
    inconclusive. Both are decided by the worker; clients show them as they are. A
    not-assessable result names no class: ``top_class`` and ``top_class_display`` are empty.
    ``current_review`` is the clinician's sign-off in force (null until reviewed).
    ``headline`` is the result in the pages' words (null until done): the risk, what it
    means, what to do (worded for the clinic's audience, specialist or primary care), the
    probability that drove a risk the top class does not explain, and the class line;
    ``recommended_action`` is the engine's own text, kept for the record.
    """

    result_state = serializers.SerializerMethodField()
    top_class = serializers.SerializerMethodField()
    top_class_display = serializers.CharField(source="class_shown", read_only=True)
    model = serializers.SerializerMethodField()
    heatmap_url = serializers.SerializerMethodField()
    current_review = serializers.SerializerMethodField()
    notice = serializers.SerializerMethodField()
    headline = serializers.SerializerMethodField()
    probabilities = serializers.DictField(child=serializers.FloatField(), read_only=True)

    class Meta:
        model = Analysis
        fields = (
            "id",
            "image",
            "status",
            "failure_reason",
            "result_state",
            "state_reason",
            "top_class",
            "top_class_display",
            "confidence",
            "probabilities",
            "uncertain",
            "uncertainty_message",
            "risk_level",
            "recommended_action",
            "malignant_probability",
            "tta_views",
            "model",
            "heatmap_url",
            "created_at",
            "started_at",
            "finished_at",
            "inference_ms",
            "current_review",
            "notice",
            "headline",
        )
        read_only_fields = fields

    @extend_schema_field(
        serializers.ChoiceField(
            choices=ResultState.choices, allow_null=True, help_text="Null until done."
        )
    )
    def get_result_state(self, analysis: Analysis) -> str | None:
        return analysis.result_state or None

    def get_top_class(self, analysis: Analysis) -> str:
        return analysis.top_class if analysis.class_shown else ""

    @extend_schema_field(ServedModelSerializer(allow_null=True))
    def get_model(self, analysis: Analysis) -> dict | None:
        if not analysis.model_id:
            return None
        version = analysis.model_version
        return {
            "version": version.number if version else None,
            "model_id": analysis.model_id,
            "sha256": analysis.model_sha256,
        }

    def get_heatmap_url(self, analysis: Analysis) -> str | None:
        if not analysis.heatmap:
            return None
        return self._heatmap_link(analysis.pk)

    @cached_property
    def _heatmap_link(self) -> Callable[[int], str]:
        return link_for("api:analysis-heatmap", "analysis_pk")

    @extend_schema_field(ReviewSerializer(allow_null=True))
    def get_current_review(self, analysis: Analysis) -> dict | None:
        # Each review supersedes the one before, so the newest is the one in force. Lists
        # prefetch the reviews (selectors.reviews_prefetch): no query per analysis.
        review = next(iter(analysis.reviews.all()), None)
        return self.review_serializer.to_representation(review) if review else None

    @cached_property
    def review_serializer(self) -> ReviewSerializer:
        # One for all the rows of a list: building a ModelSerializer's fields costs more
        # than serializing a review with them.
        return ReviewSerializer(context=self.context)

    def get_notice(self, analysis: Analysis) -> str:
        return NOT_A_DIAGNOSTIC_DEVICE

    @extend_schema_field(HeadlineSerializer(allow_null=True))
    def get_headline(self, analysis: Analysis) -> dict | None:
        if analysis.status != AnalysisStatus.DONE:
            return None
        user = getattr(self.context.get("request"), "user", None)
        audience = getattr(getattr(user, "clinic", None), "audience", SPECIALIST)
        headline = headline_for(analysis, audience)
        return {
            "title": headline.title,
            "meaning": headline.meaning,
            "action": headline.action,
            "driver": headline.driver,
            "class_line": headline.class_line,
        }


class HistoryEntrySerializer(serializers.Serializer):
    """One image of a lesion's timeline with its newest analysis."""

    image = LesionImageSerializer()
    analysis = AnalysisSerializer(allow_null=True, help_text="Null if never analysed.")
    days_since_previous = serializers.IntegerField(allow_null=True)
    days_since_first = serializers.IntegerField()
