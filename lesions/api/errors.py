"""One error shape for every 4xx answer: ``{"error": {"code", "message", "fields"}}``.

``fields`` maps a request field to its messages (``non_field_errors`` for the rest); it is
empty when the error is not about the input. The services raise Django's ValidationError
(the same messages the web forms show); it becomes a 400 here.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from lesions.api.parsers import RequestTooLarge

INVALID_MESSAGE = "Some fields are not valid; see fields."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, RequestDataTooBig):  # form fields over DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = RequestTooLarge()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: a 500 (logged by Django)
    response.data = {"error": error_body(exc, response.data)}
    return response


def as_serializer_error(exc: DjangoValidationError) -> dict[str, list[exceptions.ErrorDetail]]:
    """The service's messages per field, each with its code (``duplicate_record_number``)."""
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name): _details(
                errors
            )
            for name, errors in exc.error_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: _details(exc.error_list)}


def _details(errors: list[DjangoValidationError]) -> list[exceptions.ErrorDetail]:
    return [exceptions.ErrorDetail(message, error.code) for error in errors for message in error]


def on_field(exc: DjangoValidationError, field: str) -> exceptions.ValidationError:
    """A service's error about the input as a whole, shown beside ``field`` (like the web
    form's ``add_service_errors(default_field=...)``); per-field errors keep their fields."""
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(as_serializer_error(exc))
    details = [exceptions.ErrorDetail(e.message % (e.params or {}), e.code) for e in exc.error_list]
    return exceptions.ValidationError({field: details})


def error_body(exc: Exception, data: Any) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        fields = data if isinstance(data, dict) else {api_settings.NON_FIELD_ERRORS_KEY: data}
        fields = {name: _flatten(messages) for name, messages in fields.items()}
        only_general = set(fields) == {api_settings.NON_FIELD_ERRORS_KEY}
        message = " ".join(fields[api_settings.NON_FIELD_ERRORS_KEY]) if only_general else ""
        return {
            "code": _validation_code(exc),
            "message": message or INVALID_MESSAGE,
            "fields": fields,
        }
    detail = getattr(exc, "detail", "")
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else code
    return {"code": str(code), "message": str(detail), "fields": {}}


def _validation_code(exc: exceptions.ValidationError) -> str:
    """The code of the first error when there is one (e.g. ``duplicate_image``)."""
    codes = exc.get_codes()
    while isinstance(codes, dict | list) and codes:
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return codes if isinstance(codes, str) and codes != "invalid" else "invalid"


def _flatten(messages: Any) -> list[str]:
    if isinstance(messages, dict):  # a nested serializer's errors: "inner: message"
        return [f"{key}: {m}" for key, value in messages.items() for m in _flatten(value)]
    if isinstance(messages, list):
        return [m for item in messages for m in _flatten(item)]
    return [str(messages)]


@csrf_exempt  # answers 404 whatever the method; there is nothing to protect
def unknown_endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any other path under /api/: a 404 in the API's shape, not the site's HTML page."""
    body = {"code": "not_found", "message": "No such API endpoint.", "fields": {}}
    return JsonResponse({"error": body}, status=404)


# --- the schema's description of errors ----------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. `invalid`, `not_found`.")
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per request field; empty unless the input was refused.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_EXAMPLES = {
    400: ("invalid", INVALID_MESSAGE, {"family_name": ["This field is required."]}),
    401: ("not_authenticated", "Authentication credentials were not provided.", {}),
    403: ("permission_denied", "This account is not attached to a clinic.", {}),
    404: ("not_found", "No Patient matches the given query.", {}),
    413: ("request_too_large", "A JSON body may have at most 2560 KB.", {}),
    429: ("throttled", "Request was throttled. Expected available in 42 seconds.", {}),
}
_DESCRIPTIONS = {
    400: "The input was refused; `fields` says why, per field.",
    401: "No token, or a revoked or expired one.",
    403: "Signed in, but not a clinician of a clinic.",
    404: "No such record in your clinic.",
    413: "The request body is larger than the endpoint accepts.",
    429: "Too many requests; retry after `Retry-After` seconds.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Schema entries for the given error statuses (401 is added to every endpoint)."""
    responses = {}
    for status in sorted({*statuses, 401}):
        code, message, fields = _EXAMPLES[status]
        responses[status] = OpenApiResponse(
            ErrorSerializer,
            description=_DESCRIPTIONS[status],
            examples=[
                OpenApiExample(
                    code,
                    value={"error": {"code": code, "message": message, "fields": fields}},
                    status_codes=[str(status)],
                    response_only=True,
                )
            ],
        )
    return responses
