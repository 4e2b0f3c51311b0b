from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from lesions import selectors, services
from lesions.api.base import ClinicalGenericView
from lesions.api.errors import error_responses
from lesions.api.filters import PatientFilter
from lesions.api.pagination import PageNumberPagination
from lesions.api.serializers.patients import PatientSerializer
from lesions.models import Patient

TAGS = ["patients"]


class PatientPagination(PageNumberPagination):
    django_paginator_class = selectors.PatientPaginator


EXAMPLE = OpenApiExample(
    "A patient",
    value={
        "medical_record_number": "MRN-001234",
        "family_name": "Doe",
        "given_names": "Jane",
        "date_of_birth": "1970-05-17",
        "sex": "female",
        "fitzpatrick_skin_type": 2,
        "notes": "",
    },
    request_only=True,
)


@extend_schema_view(
    get=extend_schema(
        summary="List patients",
        responses={200: PatientSerializer(many=True), **error_responses(400, 403, 404)},
        tags=TAGS,
    ),
    post=extend_schema(
        summary="Create a patient",
        examples=[EXAMPLE],
        responses={201: PatientSerializer, **error_responses(400, 403)},
        tags=TAGS,
    ),
)
class PatientListView(ClinicalGenericView, generics.ListCreateAPIView):
    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    ordering_fields = (
        "family_name",
        "given_names",
        "medical_record_number",
        "date_of_birth",
        "created_at",
    )
    ordering = ("family_name", "given_names", "id")

    pagination_class = PatientPagination

    def get_queryset(self):
        return selectors.patient_list_for(self.request.user)  # figures: only the page's

    def perform_create(self, serializer: PatientSerializer) -> None:
        serializer.instance = services.create_patient(
            clinic=self.request.user.clinic,
            created_by=self.request.user,
            **serializer.validated_data,
        )


@extend_schema_view(
    get=extend_schema(
        summary="Read a patient",
        responses={200: PatientSerializer, **error_responses(403, 404)},
        tags=TAGS,
    ),
    put=extend_schema(
        summary="Replace a patient's details",
        responses={200: PatientSerializer, **error_responses(400, 403, 404)},
        tags=TAGS,
    ),
    patch=extend_schema(
        summary="Change some of a patient's details",
        responses={200: PatientSerializer, **error_responses(400, 403, 404)},
        tags=TAGS,
    ),
    delete=extend_schema(
        summary="Delete a patient with all lesions and images",
        responses={204: None, **error_responses(403, 404)},
        tags=TAGS,
    ),
)
class PatientDetailView(ClinicalGenericView, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = PatientSerializer

    def get_object(self) -> Patient:
        return selectors.get_patient_for(self.request.user, self.kwargs["patient_pk"])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        patient = selectors.get_patient_overview_for(request.user, self.kwargs["patient_pk"])
        services.record_view(actor=request.user, target=patient)  # reading is audited
        return Response(self.get_serializer(patient).data)

    def perform_update(self, serializer: PatientSerializer) -> None:
        services.update_patient(
            patient=serializer.instance, changed_by=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance: Patient) -> None:
        services.delete_patient(patient=instance, deleted_by=self.request.user)
