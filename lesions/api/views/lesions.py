from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from lesions import selectors, services
from lesions.api.base import ClinicalAPIView, ClinicalGenericView
from lesions.api.errors import error_responses, on_field
from lesions.api.filters import LesionFilter
from lesions.api.pagination import paginated
from lesions.api.serializers.analyses import HistoryEntrySerializer
from lesions.api.serializers.lesions import LesionSerializer, NextReviewSerializer
from lesions.models import Lesion

TAGS = ["lesions"]
EXAMPLE = OpenApiExample(
    "A lesion on the back",
    value={
        "label": "left shoulder mole",
        "body_site": "back",
        "body_view": "back",
        "map_x": 0.62,
        "map_y": 0.24,
        "first_noted_on": "2026-01-10",
        "notes": "Itches since spring; patient noticed darker edge.",
    },
    request_only=True,
)


@extend_schema_view(
    get=extend_schema(
        summary="List a patient's lesions",
        description=(
            "Each with its evolving flag and next-review date; filter with `evolving=true` "
            "or `next_review_before=<date>`."
        ),
        responses={200: LesionSerializer(many=True), **error_responses(400, 403, 404)},
        tags=TAGS,
    ),
    post=extend_schema(
        summary="Add a lesion to a patient's body map",
        examples=[EXAMPLE],
        responses={201: LesionSerializer, **error_responses(400, 403, 404)},
        tags=TAGS,
    ),
)
class PatientLesionListView(ClinicalGenericView, generics.ListCreateAPIView):
    serializer_class = LesionSerializer
    filterset_class = LesionFilter
    ordering_fields = ("first_noted_on", "label", "created_at", "status", "next_review_on")
    ordering = ("first_noted_on", "id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Lesion.objects.none()
        patient = selectors.get_patient_for(self.request.user, self.kwargs["patient_pk"])
        return selectors.lesions_of(patient)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Another clinic's patient is a 404 before the body is judged (a 400 would answer
        # a question about a record the caller may not see).
        self.patient = selectors.get_patient_for(request.user, self.kwargs["patient_pk"])
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: LesionSerializer) -> None:
        patient = self.patient
        serializer.instance = services.create_lesion(
            patient=patient, created_by=self.request.user, **serializer.validated_data
        )


@extend_schema_view(
    get=extend_schema(
        summary="Read a lesion",
        responses={200: LesionSerializer, **error_responses(403, 404)},
        tags=TAGS,
    ),
    put=extend_schema(
        summary="Replace a lesion's details",
        responses={200: LesionSerializer, **error_responses(400, 403, 404)},
        tags=TAGS,
    ),
    patch=extend_schema(
        summary="Change some of a lesion's details (e.g. its status)",
        responses={200: LesionSerializer, **error_responses(400, 403, 404)},
        tags=TAGS,
    ),
    delete=extend_schema(
        summary="Delete a lesion with its images",
        responses={204: None, **error_responses(403, 404)},
        tags=TAGS,
    ),
)
class LesionDetailView(ClinicalGenericView, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = LesionSerializer

    def get_object(self) -> Lesion:
        return selectors.get_lesion_for(self.request.user, self.kwargs["lesion_pk"])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lesion = selectors.get_lesion_overview_for(request.user, self.kwargs["lesion_pk"])
        services.record_view(actor=request.user, target=lesion)  # reading is audited
        return Response(self.get_serializer(lesion).data)

    def perform_update(self, serializer: LesionSerializer) -> None:
        services.update_lesion(
            lesion=serializer.instance, changed_by=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance: Lesion) -> None:
        services.delete_lesion(lesion=instance, deleted_by=self.request.user)


class LesionHistoryView(ClinicalGenericView):
    serializer_class = HistoryEntrySerializer
    filter_backends: list = []  # the timeline has one order: capture order

    @extend_schema(
        summary="A lesion's timeline",
        description="Its images oldest first, each with its newest analysis; paginated.",
        responses={200: HistoryEntrySerializer(many=True), **error_responses(400, 403, 404)},
        tags=TAGS,
    )
    def get(self, request: Request, lesion_pk: int) -> Response:
        lesion = selectors.get_lesion_for(request.user, lesion_pk)
        timeline = selectors.lesion_timeline(lesion)
        return paginated(self, timeline, lambda page: HistoryEntrySerializer(page, many=True).data)


class LesionNextReviewView(ClinicalAPIView):
    @extend_schema(
        summary="Set a lesion's next-review date",
        description=(
            "The clinician's own date (or `null` for none) in place of the suggested one. "
            "A date in the past is refused (400). The date is kept: later results and "
            "reviews only update `suggested_review_on` beside it. "
            '`{"use_suggestion": true}` follows the suggestions again. Audited.'
        ),
        request=NextReviewSerializer,
        examples=[
            OpenApiExample(
                "Review in three months", value={"next_review_on": "2026-06-02"}, request_only=True
            ),
            OpenApiExample("No further review", value={"next_review_on": None}, request_only=True),
            OpenApiExample(
                "Follow the suggestion again", value={"use_suggestion": True}, request_only=True
            ),
        ],
        responses={200: LesionSerializer, **error_responses(400, 403, 404)},
        tags=TAGS,
    )
    def put(self, request: Request, lesion_pk: int) -> Response:
        lesion = selectors.get_lesion_for(request.user, lesion_pk)
        data = NextReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["use_suggestion"]:
            lesion = services.use_suggested_review(lesion=lesion, changed_by=request.user)
            return Response(LesionSerializer(lesion).data)
        try:
            lesion = services.set_next_review(
                lesion=lesion,
                next_review_on=data.validated_data["next_review_on"],
                changed_by=request.user,
            )
        except ValidationError as exc:  # a date in the past
            raise on_field(exc, "next_review_on") from exc
        return Response(LesionSerializer(lesion).data)
