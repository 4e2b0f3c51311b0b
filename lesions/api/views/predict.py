"""The seeds' quick check: one image in, a prediction out, no patient data stored.

It runs on the inference workers like every analysis. The request waits for the result up
to DERMASCAN_PREDICT_WAIT seconds; past that it answers 202 with a status URL to poll.
"""

from __future__ import annotations

import base64
import uuid

from celery import current_app
from celery.exceptions import TimeoutError as ResultTimeout
from celery.result import AsyncResult
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from lesions import uploads
from lesions.api.base import NOT_A_DIAGNOSTIC_DEVICE, ClinicalAPIView
from lesions.api.errors import error_responses, on_field
from lesions.api.throttles import PredictThrottle
from lesions.pipeline import dispatch

TAGS = ["predict"]
JOB_OWNER_KEY = "predict-job:{}"
JOB_TTL = 3600


class PredictSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG or PNG, at most 20 MB.")
    use_tta = serializers.BooleanField(default=True, help_text="Test-time augmentation.")
    heatmap = serializers.BooleanField(default=False, help_text="Add a PNG data URL heatmap.")


class RecommendationSerializer(serializers.Serializer):
    severity = serializers.CharField(help_text="The risk level: high, moderate or low.")
    action = serializers.CharField()
    description = serializers.CharField()


class PredictionSerializer(serializers.Serializer):
    uncertain = serializers.BooleanField()
    prediction = serializers.CharField(help_text="The most likely class, by name.")
    prediction_code = serializers.CharField(help_text="Its HAM10000 code, e.g. `nv`.")
    confidence = serializers.FloatField()
    probabilities = serializers.DictField(child=serializers.FloatField())
    malignant_probability = serializers.FloatField()
    recommendation = RecommendationSerializer()
    tta_used = serializers.BooleanField()
    tta_views = serializers.IntegerField()
    model = serializers.CharField()
    heatmap = serializers.CharField(allow_null=True, help_text="data:image/png;base64,…")
    notice = serializers.CharField()


class PredictPendingSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["pending"])
    job = serializers.CharField()
    status_url = serializers.CharField()


class ServiceUnavailable(APIException):
    status_code = 503
    default_code = "unavailable"
    default_detail = "The analysis service is unavailable; try again shortly."


class PredictView(ClinicalAPIView):
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [PredictThrottle]

    @extend_schema(
        summary="Quick check of one image (nothing stored)",
        description=(
            "Runs the model on the image and answers the prediction; no patient, lesion or "
            "image is stored. Waits for the worker a bounded time, then answers 202 with "
            "`status_url` to poll. " + NOT_A_DIAGNOSTIC_DEVICE
        ),
        request={"multipart/form-data": PredictSerializer},
        responses={
            200: PredictionSerializer,
            202: PredictPendingSerializer,
            **error_responses(400, 403, 429),
            503: OpenApiResponse(description="No broker or no model to run the check."),
        },
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        form = PredictSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        # The same checks and cleaning as every upload (type, size, pixels, EXIF, GPS).
        try:
            clean = uploads.clean_image(uploads.read_upload(form.validated_data["image"]))
        except DjangoValidationError as exc:
            raise on_field(exc, "image") from exc
        try:
            job = dispatch.send_task(
                dispatch.PREDICT_IMAGE,
                base64.b64encode(clean.content).decode(),
                form.validated_data["use_tta"],
                form.validated_data["heatmap"],
                keep_result=True,
            )
        except Exception as exc:  # kombu/redis raise several types for "broker unreachable"
            raise ServiceUnavailable() from exc
        cache.set(JOB_OWNER_KEY.format(job.id), request.user.pk, JOB_TTL)
        wait = settings.DERMASCAN_PREDICT_WAIT
        if wait <= 0:  # configured never to hold a web process
            return pending(job.id)
        try:
            result = job.get(timeout=wait, propagate=False)
        except ResultTimeout:
            return pending(job.id)
        return answer(job, result)


class PredictStatusView(ClinicalAPIView):
    @extend_schema(
        summary="Result of a quick check that took longer than the wait",
        responses={
            200: PredictionSerializer,
            202: PredictPendingSerializer,
            **error_responses(400, 403, 404),
        },
        tags=TAGS,
    )
    def get(self, request: Request, job_id: uuid.UUID) -> Response:
        job_id = str(job_id)
        if cache.get(JOB_OWNER_KEY.format(job_id)) != request.user.pk:
            raise Http404("No such quick check of yours.")
        job = AsyncResult(job_id, app=current_app)
        if not job.ready():
            return pending(job_id)
        return answer(job, job.result)


def pending(job_id: str) -> Response:
    url = reverse("api:predict-status", kwargs={"job_id": job_id})
    return Response(
        {"status": "pending", "job": job_id, "status_url": url},
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": url, "Retry-After": "2"},
    )


def answer(job: AsyncResult, result: object) -> Response:
    if job.failed() or not isinstance(result, dict):
        raise ServiceUnavailable("The quick check failed on the worker; try again.")
    if "error" in result:
        if result["error"]["code"] == "unreadable_image":
            raise ValidationError({"image": [result["error"]["message"]]}, code="unreadable_image")
        raise ServiceUnavailable(result["error"]["message"])
    return Response({**result, "notice": NOT_A_DIAGNOSTIC_DEVICE})
