from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from lesions.api.base import ClinicalAPIView, ClinicalGenericView
from lesions.api.errors import error_responses
from lesions.api.pagination import paginated
from lesions.api.serializers.worklist import (
    SECTION_KEYS,
    WorklistRowSerializer,
    WorklistSerializer,
    worklist_body,
    worklist_row,
)
from lesions.follow_up import worklist

TAGS = ["worklist"]


class WorklistView(ClinicalAPIView):
    @extend_schema(
        summary="The clinic's worklist",
        description=(
            "The home page's four sections, in this order: `review` (finished results nobody "
            "has signed off, High and inconclusive first), `evolving` (followed lesions flagged "
            "evolving and not reviewed since), `due` (next review today or overdue, most "
            "overdue first) and `failed`. Each has its `count`, its first "
            f"{worklist.ROWS_PER_SECTION} `rows`, and the `url` of all its rows, paginated."
        ),
        responses={200: WorklistSerializer, **error_responses(403)},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        body = worklist_body(worklist.worklist_for(request.user))
        return Response(WorklistSerializer(body).data)


class WorklistSectionView(ClinicalGenericView):
    serializer_class = WorklistRowSerializer
    filter_backends: list = []  # each section has its own order

    @extend_schema(
        summary="Every row of one worklist section, paginated",
        parameters=[OpenApiParameter("section", str, OpenApiParameter.PATH, enum=SECTION_KEYS)],
        responses={200: WorklistRowSerializer(many=True), **error_responses(400, 403, 404)},
        tags=TAGS,
    )
    def get(self, request: Request, section: str) -> Response:
        if section not in worklist.SECTIONS:
            raise Http404("No such worklist section.")
        rows = worklist.section_rows(request.user, section)
        return paginated(
            self,
            rows,
            lambda page: (
                WorklistRowSerializer([worklist_row(section, r) for r in page], many=True).data
            ),
        )
