from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from lesions.api.base import ClinicalAPIView
from lesions.api.errors import error_responses
from lesions.api.serializers.worklist import WorklistSerializer, worklist_body
from lesions.follow_up import worklist


class WorklistView(ClinicalAPIView):
    @extend_schema(
        summary="The clinic's worklist",
        description=(
            "The home page's four sections, in this order: `review` (finished results nobody "
            "has signed off, High and inconclusive first), `evolving` (followed lesions flagged "
            "evolving and not reviewed since), `due` (next review today or overdue, most "
            "overdue first) and `failed`. Each has its `count` and its first "
            f"{worklist.ROWS_PER_SECTION} `rows`."
        ),
        responses={200: WorklistSerializer, **error_responses(403)},
        tags=["worklist"],
    )
    def get(self, request: Request) -> Response:
        body = worklist_body(worklist.worklist_for(request.user))
        return Response(WorklistSerializer(body).data)
