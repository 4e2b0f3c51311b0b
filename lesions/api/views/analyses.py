from __future__ import annotations

from django.db.models import prefetch_related_objects
from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from lesions import selectors, services
from lesions.api.base import (
    PRIVATE_FILE,
    ClinicalAPIView,
    ClinicalGenericView,
    accepted,
    conditional,
    etag_of,
)
from lesions.api.errors import error_responses
from lesions.api.serializers.analyses import AnalysisSerializer
from lesions.api.throttles import ImageReanalysisThrottle, ReanalysisThrottle
from lesions.models import Analysis
from lesions.views.streaming import stream_heatmap

TAGS = ["analyses"]


class ImageAnalysisListView(ClinicalGenericView, generics.ListAPIView):
    serializer_class = AnalysisSerializer
    # POST only (WriteRateThrottle): per user here; per image in post(), once the image is
    # known to be the caller's (another clinic's image answers 404, never 429).
    throttle_classes = [ReanalysisThrottle]
    ordering_fields = ("created_at",)
    ordering = ("-created_at", "-id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Analysis.objects.none()
        image = selectors.get_image_for(self.request.user, self.kwargs["image_pk"])
        return image.analyses.with_model_version().prefetch_related(selectors.reviews_prefetch())

    @extend_schema(
        summary="List an image's analyses, newest first",
        responses={200: AnalysisSerializer(many=True), **error_responses(400, 403, 404)},
        tags=TAGS,
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        summary="Analyse an image again",
        description=(
            "Queues a new analysis (earlier results are kept). If one is already queued or "
            "running, that one is answered instead of a second. `Location` is the analysis "
            "to poll, `Retry-After` the seconds to wait first. Each analysis is a full "
            "inference: throttled per user (`DERMASCAN_API_REANALYSIS_RATE`, 30/hour) and per "
            "image (`DERMASCAN_API_REANALYSIS_IMAGE_RATE`, 3/hour)."
        ),
        request=None,
        responses={202: AnalysisSerializer, **error_responses(403, 404, 429)},
        tags=TAGS,
    )
    def post(self, request: Request, image_pk: int) -> Response:
        image = selectors.get_image_for(request.user, image_pk)
        per_image = ImageReanalysisThrottle()
        if not per_image.allow_request(request, self):
            self.throttled(request, per_image.wait())
        analysis = services.request_analysis(image=image, requested_by=request.user)
        return accepted(AnalysisSerializer(analysis).data, analysis.pk)


class AnalysisDetailView(ClinicalAPIView):
    @extend_schema(
        summary="Read an analysis (poll until done)",
        description=(
            "`status` is queued, running, done or failed; `current_review` is the sign-off "
            "in force. Poll cheaply: send the `ETag` of the last answer as `If-None-Match` "
            "and get 304 while nothing changed (a new review is a change)."
        ),
        parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER)],
        responses={
            200: AnalysisSerializer,
            304: OpenApiResponse(description="Not modified since the ETag given."),
            **error_responses(403, 404),
        },
        tags=TAGS,
    )
    def get(self, request: Request, analysis_pk: int) -> HttpResponse:
        analysis = selectors.get_analysis_for(request.user, analysis_pk)
        prefetch_related_objects([analysis], selectors.reviews_prefetch())
        current_review = next(iter(analysis.reviews.all()), None)
        etag = etag_of(
            analysis.pk,
            analysis.status,
            analysis.attempts,
            analysis.finished_at,
            analysis.result_state,
            analysis.state_reason,
            current_review.pk if current_review else None,  # a new sign-off is a change
        )
        return conditional(request, etag, lambda: Response(AnalysisSerializer(analysis).data))


class AnalysisHeatmapView(ClinicalAPIView):
    @extend_schema(
        summary="Download an analysis's heatmap",
        description="A JPEG overlay of where the model looked; 404 until the analysis is done.",
        responses={
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY),
            **error_responses(403, 404),
        },
        tags=TAGS,
    )
    def get(self, request: Request, analysis_pk: int) -> FileResponse:
        analysis = selectors.get_analysis_for(request.user, analysis_pk)
        return stream_heatmap(analysis, cache_control=PRIVATE_FILE)
