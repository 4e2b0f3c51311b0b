"""Throttles: API logins per client address and per username; uploads, predict, report PDFs
and re-analyses per user; re-analyses per image too.

A throttled request answers 429 with ``Retry-After`` (DRF) in the API's error shape. Every
throttle that counts by address takes it from ``lesions.client_address`` (the lockout's
source too), never from a header the client controls.
"""

from __future__ import annotations

import hashlib

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from lesions.client_address import client_ip


class RatesFromSettings:
    """Read the rate when asked (DRF reads it once, at import), so a changed setting counts;
    and the address from the one place that knows how many proxies to trust."""

    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request: Request) -> str:
        return client_ip(request._request) or ""


class LoginIPThrottle(RatesFromSettings, SimpleRateThrottle):
    scope = "login_ip"

    def get_cache_key(self, request: Request, view: object) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginUsernameThrottle(RatesFromSettings, SimpleRateThrottle):
    """Guessing one account's password from many addresses is limited too."""

    scope = "login_username"

    def get_cache_key(self, request: Request, view: object) -> str | None:
        username = request.data.get("username") if hasattr(request.data, "get") else None
        if not isinstance(username, str) or not username.strip():
            return None  # no username: nothing to guess, the serializer answers 400
        # Hashed: any text may arrive here, and cache keys must be short and plain.
        ident = hashlib.sha256(username.strip().lower().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class WriteRateThrottle(RatesFromSettings, UserRateThrottle):
    """Counts only writes (POST): reading the list of images is not limited."""

    def allow_request(self, request: Request, view: object) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)


class UploadThrottle(WriteRateThrottle):
    scope = "uploads"


class PredictThrottle(WriteRateThrottle):
    scope = "predict"


class ReanalysisThrottle(WriteRateThrottle):
    """Each re-analysis is a full inference and a heatmap file: a user's rate is bounded."""

    scope = "reanalysis"


class ImageReanalysisThrottle(WriteRateThrottle):
    """And one image cannot gather analyses however many users ask for them."""

    scope = "reanalysis_image"

    def get_cache_key(self, request: Request, view: object) -> str:
        return self.cache_format % {"scope": self.scope, "ident": view.kwargs["image_pk"]}


class ReportThrottle(RatesFromSettings, UserRateThrottle):
    """Rendering a report PDF takes a worker's CPU for a while: a runaway client is held."""

    scope = "reports"
