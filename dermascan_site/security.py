"""Request and response rules that hold for every URL: bounded request bodies, no uploads
from anonymous callers, no caching of anything dynamic, and a Permissions-Policy."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers

# No page of DermaScan uses any of these browser features.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)
_BODY_METHODS = ("POST", "PUT", "PATCH")


def _error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": code, "message": message, "fields": {}}}, status=status
        )
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class RequestBodyLimitMiddleware:
    """Answers before the body is read (by CSRF, the upload parser, or DRF):

    - 413 when the declared Content-Length exceeds ``DERMASCAN_MAX_REQUEST_BYTES``;
    - 411 for a body of undeclared length (chunked); Django would read none of it anyway;
    - a body larger than a sign-in form needs (``DERMASCAN_ANONYMOUS_MAX_REQUEST_BYTES``) from
      a caller that is neither signed in nor presents an Authorization header (the API's
      tokens, checked by DRF before it parses) is sent to the login page (pages) or answered
      401 (API), unread: an upload from someone unknown costs nothing.

    Django never reads past the declared length, so no body grows beyond the limit while
    it streams. Must come after AuthenticationMiddleware (it asks who the user is).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self.refusal(request) if request.method in _BODY_METHODS else None
        # No "Connection: close" on a refusal: WSGI leaves hop-by-hop headers to the server
        # (Django's development server refuses them); gunicorn discards an unread body.
        return refusal if refusal is not None else self.get_response(request)

    def refusal(self, request: HttpRequest) -> HttpResponse | None:
        declared = request.META.get("CONTENT_LENGTH") or ""
        if not declared and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return _error(request, 411, "length_required", "Send the body with a Content-Length.")
        try:
            length = int(declared or 0)
        except ValueError:
            return _error(request, 400, "bad_request", "Invalid Content-Length.")
        limit = settings.DERMASCAN_MAX_REQUEST_BYTES
        if length > limit:
            return _error(
                request,
                413,
                "request_too_large",
                f"The request is {length / 1024 / 1024:.1f} MB; the limit is "
                f"{limit // 1024 // 1024} MB (images at most 20 MB).",
            )
        anonymous_limit = settings.DERMASCAN_ANONYMOUS_MAX_REQUEST_BYTES
        if length > anonymous_limit and not self.identified(request):
            if request.path.startswith("/api/"):
                return _error(request, 401, "not_authenticated", "Sign in before uploading.")
            return redirect_to_login(request.get_full_path())
        return None

    @staticmethod
    def identified(request: HttpRequest) -> bool:
        return request.user.is_authenticated or bool(request.META.get("HTTP_AUTHORIZATION"))


class NoStoreMiddleware:
    """``Cache-Control: no-store`` (with its older equivalents) on every dynamic response
    that does not set its own: pages, JSON, images and heatmaps all carry patient data.
    Static files are answered by WhiteNoise before this runs and keep their long caching."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
