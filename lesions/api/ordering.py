"""``?ordering=`` that refuses what it cannot order by (DRF's filter ignores it quietly)."""

from __future__ import annotations

from typing import Any

from rest_framework import filters
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class StrictOrderingFilter(filters.OrderingFilter):
    def get_ordering(self, request: Request, queryset: Any, view: Any) -> Any:
        params = request.query_params.get(self.ordering_param)
        if params:
            asked = [term.strip() for term in params.split(",") if term.strip()]
            valid = self.remove_invalid_fields(queryset, asked, view, request)
            if len(valid) != len(asked) or not asked:
                allowed = sorted(name for name, _ in self.get_valid_fields(queryset, view))
                message = f"Order by one of: {', '.join(allowed)} (prefix - for descending)."
                raise ValidationError({self.ordering_param: [message]}, code="invalid")
        return super().get_ordering(request, queryset, view)
