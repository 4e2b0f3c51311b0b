"""Throttles: API logins per IP address and per username; uploads, predict and report PDFs
per user.

A throttled request answers 429 with ``Retry-After`` (DRF) in the API's error shape.
"""

from __future__ import annotations

import hashlib

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle


class RatesFromSettings:
    """Read the rate when asked (DRF reads it once, at import), so a changed setting counts."""

    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


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


class ReportThrottle(RatesFromSettings, UserRateThrottle):
    """Rendering a report PDF takes a worker's CPU for a while: a runaway client is held."""

    scope = "reports"
