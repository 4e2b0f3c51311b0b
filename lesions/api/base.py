"""What every clinical API view shares: device auditing, private files, ETags."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import parse_etags
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lesions.services.audit import acting_device

NOT_A_DIAGNOSTIC_DEVICE = (
    "Not a diagnostic device: decision support for clinicians, not a diagnosis."
)


class DeviceAuditMixin:
    """Audit events written while handling a token request name the token's device."""

    _device_scope: AbstractContextManager | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authenticates
        self._device_scope = acting_device(getattr(request.auth, "device_name", "") or "")
        self._device_scope.__enter__()

    def finalize_response(self, request: Request, response, *args: Any, **kwargs: Any):
        if self._device_scope is not None:
            self._device_scope.__exit__(None, None, None)
            self._device_scope = None
        return super().finalize_response(request, response, *args, **kwargs)


class ClinicalAPIView(DeviceAuditMixin, APIView):
    pass


class ClinicalGenericView(DeviceAuditMixin, generics.GenericAPIView):
    pass


# A key no record has: reversed once, then replaced by each row's own key.
_ANY_PK = 987654321987


def link_for(url_name: str, kwarg: str) -> Callable[[int], str]:
    """``link_for("api:image-file", "image_pk")(pk)``: the URL of ``url_name`` for a row.

    For serializers of many rows: reverse() costs about 25 µs, and a lesion history of 10
    images had 40 links. Make it once per serializer, i.e. per request (the URL carries the
    request's script prefix).
    """
    head, tail = reverse(url_name, kwargs={kwarg: _ANY_PK}).split(str(_ANY_PK))
    return lambda pk: f"{head}{pk}{tail}"


# Files go to the signed-in user only (lesions.views.streaming): no cache may keep health data.
PRIVATE_FILE = "private, no-store"


def etag_of(*parts: object) -> str:
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def conditional(request: Request, etag: str, build: Any) -> HttpResponse:
    """304 when the client's ``If-None-Match`` names ``etag``; else ``build()`` with the ETag.

    If-None-Match compares weakly (RFC 9110 13.1.2): ``W/"x"`` matches ``"x"``. Proxies and
    HTTP libraries weaken ETags (e.g. when they compress), and polling must still get 304.
    """
    known = set(parse_etags(request.headers.get("If-None-Match", "")))
    weak = {tag.removeprefix("W/") for tag in known}
    response = Response(status=304) if etag in weak or "*" in known else build()
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


# Seconds an app should wait before polling a queued analysis (one inference takes about
# that long on a CPU worker with an empty queue).
POLL_AFTER_SECONDS = 2


def accepted(body: Any, analysis_pk: int) -> Response:
    """202 for a queued analysis: ``Location`` to poll and ``Retry-After`` before polling."""
    url = reverse("api:analysis-detail", kwargs={"analysis_pk": analysis_pk})
    headers = {"Location": url, "Retry-After": str(POLL_AFTER_SECONDS)}
    return Response(body, status=202, headers=headers)
