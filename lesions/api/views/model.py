from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from classifier.labels import display_name
from classifier.operating_point import OperatingPoint
from classifier.selectors import model_page
from lesions.api.base import NOT_A_DIAGNOSTIC_DEVICE, ClinicalAPIView
from lesions.api.errors import error_responses


class ModelClassSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ThresholdsSerializer(serializers.Serializer):
    """The served card's operating point: what the worker decides every result with."""

    t_mel = serializers.FloatField(help_text="High: melanoma probability at or above this.")
    t_mal = serializers.FloatField(
        help_text="Moderate: the malignant classes together at or above this."
    )
    target_melanoma_sensitivity = serializers.FloatField(allow_null=True)
    target_malignant_sensitivity = serializers.FloatField(allow_null=True)
    chosen_on = serializers.CharField(help_text='The split they were chosen on; "" = unmeasured.')
    uncertainty = serializers.DictField(
        help_text="Inconclusive below `confidence_threshold` or above `entropy_threshold`."
    )


class ModelInfoSerializer(serializers.Serializer):
    model_id = serializers.CharField()
    arch = serializers.CharField()
    input_size = serializers.IntegerField()
    version = serializers.IntegerField(allow_null=True, help_text="Null: the default model.")
    weights_sha256 = serializers.CharField()
    classes = ModelClassSerializer(many=True)
    test_metrics = serializers.DictField(help_text="Metrics on the held-out test split.")
    thresholds = ThresholdsSerializer()
    notice = serializers.CharField()


class ModelUnavailable(APIException):
    status_code = 503
    default_code = "model_unavailable"


class ModelView(ClinicalAPIView):
    @extend_schema(
        summary="The model that analyses images now",
        description=(
            "`thresholds` are the card's own operating point, the ones every result's "
            "`result_state` and `recommended_action` come from."
        ),
        responses={200: ModelInfoSerializer, **error_responses(403)},
        tags=["model"],
    )
    def get(self, request: Request) -> Response:
        page = model_page()
        card = page.card
        if card is None:
            raise ModelUnavailable(f"The served model's card cannot be read: {page.error}")
        metrics = card.metrics or {}
        point = OperatingPoint.from_card(card.operating_point)
        body = {
            "model_id": card.model_id,
            "arch": card.arch,
            "input_size": card.input_size,
            "version": page.version.number if page.version else None,
            "weights_sha256": card.weights_sha256,
            "classes": [{"code": code, "name": display_name(code)} for code in card.classes],
            "test_metrics": metrics.get("test") or {},
            "thresholds": {**point.to_dict(), "uncertainty": card.uncertainty},
            "notice": NOT_A_DIAGNOSTIC_DEVICE,
        }
        return Response(ModelInfoSerializer(body).data)
