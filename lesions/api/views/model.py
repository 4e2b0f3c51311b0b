from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from classifier.labels import display_name
from classifier.selectors import model_page
from lesions.api.base import NOT_A_DIAGNOSTIC_DEVICE, ClinicalAPIView
from lesions.api.errors import error_responses


class ModelClassSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ModelInfoSerializer(serializers.Serializer):
    model_id = serializers.CharField()
    arch = serializers.CharField()
    input_size = serializers.IntegerField()
    version = serializers.IntegerField(allow_null=True, help_text="Null: the default model.")
    weights_sha256 = serializers.CharField()
    classes = ModelClassSerializer(many=True)
    test_metrics = serializers.DictField(help_text="Metrics on the held-out test split.")
    thresholds = serializers.DictField(
        help_text="Uncertainty thresholds and, when the card has them, the risk thresholds."
    )
    notice = serializers.CharField()


class ModelUnavailable(APIException):
    status_code = 503
    default_code = "model_unavailable"


class ModelView(ClinicalAPIView):
    @extend_schema(
        summary="The model that analyses images now",
        responses={200: ModelInfoSerializer, **error_responses(403)},
        tags=["model"],
    )
    def get(self, request: Request) -> Response:
        page = model_page()
        card = page.card
        if card is None:
            raise ModelUnavailable(f"The served model's card cannot be read: {page.error}")
        metrics = card.metrics or {}
        body = {
            "model_id": card.model_id,
            "arch": card.arch,
            "input_size": card.input_size,
            "version": page.version.number if page.version else None,
            "weights_sha256": card.weights_sha256,
            "classes": [{"code": code, "name": display_name(code)} for code in card.classes],
            "test_metrics": metrics.get("test") or {},
            "thresholds": {"uncertainty": card.uncertainty, **(metrics.get("thresholds") or {})},
            "notice": NOT_A_DIAGNOSTIC_DEVICE,
        }
        return Response(body)
