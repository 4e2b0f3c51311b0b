"""One way to page every list: ``?page=N&page_size=M`` with ``count``, ``next``, ``previous``
and ``results``. A malformed page or page size is a 400 (DRF would quietly use its default),
a page past the last a 404."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


def positive_int(request: Request, name: str, maximum: int | None = None) -> int | None:
    """The query parameter ``name`` as a whole number from 1 (to ``maximum``); None if absent."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw, 10)
    except ValueError:
        value = 0
    if value < 1 or (maximum is not None and value > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        bounds = f"between 1{upper}" if maximum is not None else "1 or more"
        raise ValidationError({name: [f"Must be a whole number {bounds}."]}, code="invalid")
    return value


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=N&page_size=M``; a client may ask for up to MAX_PAGE_SIZE rows a page."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        size = positive_int(request, self.page_size_query_param, self.max_page_size)
        return self.page_size if size is None else size

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        positive_int(request, self.page_query_param)  # 400 before DRF's 404 for "page=0"
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:  # the bounds, so generated clients and tests know them
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
        return parameters


def paginated(view: Any, rows: Any, serialize: Any) -> Any:
    """A view's paginated answer of ``rows`` (a queryset or list) through ``serialize``."""
    page = view.paginate_queryset(rows)
    return view.get_paginated_response(serialize(page))
