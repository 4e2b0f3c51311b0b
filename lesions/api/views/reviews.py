"""Reviews (sign-offs): an analysis's reviews and recording one; the clinic's reviews."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from lesions import selectors, services
from lesions.api.base import ClinicalGenericView
from lesions.api.errors import error_responses, on_field
from lesions.api.filters import ReviewFilter
from lesions.api.serializers.reviews import (
    ClinicReviewSerializer,
    ReviewCreateSerializer,
    ReviewSerializer,
)
from lesions.models import Review

TAGS = ["reviews"]
EXAMPLES = [
    OpenApiExample(
        "Agree with the model",
        value={"agrees_with_model": True, "basis": "clinical", "management": "monitor"},
        request_only=True,
    ),
    OpenApiExample(
        "Another diagnosis, confirmed by histopathology",
        value={
            "agrees_with_model": False,
            "diagnosis": "bcc",
            "basis": "histopathology",
            "management": "excise",
            "note": "Excised 2 March; margins clear.",
        },
        request_only=True,
    ),
    OpenApiExample(
        "A diagnosis the model does not know",
        value={
            "agrees_with_model": False,
            "diagnosis": "other",
            "diagnosis_other": "Solar lentigo",
            "basis": "clinical",
            "management": "short_term_recheck",
        },
        request_only=True,
    ),
]


class AnalysisReviewListView(ClinicalGenericView, generics.ListAPIView):
    serializer_class = ReviewSerializer
    ordering_fields = ("created_at",)
    ordering = ("-created_at", "-id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Review.objects.none()
        analysis = selectors.get_analysis_for(self.request.user, self.kwargs["analysis_pk"])
        return selectors.reviews_of(analysis)

    @extend_schema(
        summary="List an analysis's reviews, newest (the current one) first",
        description="Superseded reviews are kept: `supersedes`, `superseded_by`, `current`.",
        responses={200: ReviewSerializer(many=True), **error_responses(400, 403, 404)},
        tags=TAGS,
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        summary="Review (sign off) an analysis",
        description=(
            "Agree with the model, or name another diagnosis, with the basis and a management "
            "decision. Only a finished analysis can be reviewed (else 400, code `not_done`). "
            "A review is never changed: a new one supersedes the current one and both are "
            "kept. With histopathology as the basis the diagnosis becomes the lesion's "
            "confirmed diagnosis. The lesion's evolving flag and next-review date follow."
        ),
        request=ReviewCreateSerializer,
        examples=EXAMPLES,
        responses={201: ReviewSerializer, **error_responses(400, 403, 404)},
        tags=TAGS,
    )
    def post(self, request: Request, analysis_pk: int) -> Response:
        analysis = selectors.get_analysis_for(request.user, analysis_pk)
        data = ReviewCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            review = services.record_review(
                analysis=analysis, reviewer=request.user, **data.validated_data
            )
        except ValidationError as exc:  # e.g. not finished: about the request as a whole
            raise on_field(exc, api_settings.NON_FIELD_ERRORS_KEY) from exc
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


class ReviewListView(ClinicalGenericView, generics.ListAPIView):
    serializer_class = ClinicReviewSerializer
    filterset_class = ReviewFilter
    ordering_fields = ("created_at",)
    ordering = ("-created_at", "-id")

    def get_queryset(self):
        return selectors.reviews_for(self.request.user)

    @extend_schema(
        summary="List the clinic's reviews, newest first",
        description="Filter by patient, lesion, analysis, reviewer, outcome or date; "
        "`current=true` leaves out superseded reviews.",
        responses={200: ClinicReviewSerializer(many=True), **error_responses(400, 403, 404)},
        tags=TAGS,
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return self.list(request, *args, **kwargs)
