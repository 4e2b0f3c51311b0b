"""The client's address, taken one way for everything that counts by it: the API's
throttles and the sign-in lockout (django-axes' ``AXES_CLIENT_IP_CALLABLE``)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """``REMOTE_ADDR``, or behind ``DERMASCAN_TRUSTED_PROXIES`` reverse proxies the entry that
    many places from the right of X-Forwarded-For. Entries further left are whatever the
    client sent, so they never count: a spoofed header cannot buy a fresh address."""
    proxies = settings.DERMASCAN_TRUSTED_PROXIES
    if proxies:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        forwarded = [part.strip() for part in forwarded if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")
