"""Signing in: password plus optional TOTP code, lockout after repeated failures (django-axes),
and the admin site that asks staff for a second factor when the setting says so."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import devices_for_user, match_token, user_has_device

from lesions.client_address import client_ip  # noqa: F401 (AXES_CLIENT_IP_CALLABLE names it here too)

LOCKOUT_MESSAGE = (
    "Too many failed sign-ins for this account or from this network. "
    "Try again in {minutes} minutes, or ask a staff member to unlock the account."
)


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check for every sign-in made with a request (pages, admin, API).

    A call without a request (a shell, a management command, the test client's login())
    has no address to count by; axes would raise, so it is left to the next backend.
    A locked-out caller's ``authenticate()`` returns None, like a wrong password; the
    pages and the admin then answer with the lockout page (AxesMiddleware).
    """

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """429 with a clear message: JSON in the API's error shape, the lockout page elsewhere."""
    cool_off = get_cool_off(request)
    minutes = round(cool_off.total_seconds() / 60) if cool_off else 0
    message = LOCKOUT_MESSAGE.format(minutes=minutes)
    if request.path.startswith("/api/"):
        error = {"code": "locked_out", "message": message, "fields": {}}
        response = JsonResponse({"error": error}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    # The whole cool-off: the lock lifts at the latest then (each failure restarts it).
    response["Retry-After"] = str(int(cool_off.total_seconds())) if cool_off else "60"
    return response


class OTPTokenMixin(forms.Form):
    """Adds a one-time code, required of users who have enrolled a TOTP device."""

    otp_token = forms.CharField(
        label="Authenticator code",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="Only if you set up two-factor sign-in.",
    )

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user_has_device(user, confirmed=True):
            return
        token = (self.cleaned_data.get("otp_token") or "").strip()
        device = match_token(user, token) if token else None
        if device is None:
            # Counted by the lockout like a wrong password: guessing codes is throttled too.
            user_login_failed.send(
                sender=__name__,
                credentials={"username": user.get_username()},
                request=self.request,
            )
            raise ValidationError(
                "Enter the current code from your authenticator app.", code="invalid_otp"
            )
        user.otp_device = device  # django_otp marks the session verified on login


class LoginForm(OTPTokenMixin, AuthenticationForm):
    pass


class AdminLoginForm(OTPTokenMixin, AdminAuthenticationForm):
    pass


def staff_needs_second_factor(user: Any) -> bool:
    return settings.DERMASCAN_STAFF_REQUIRE_2FA and not user.is_verified()


class DermaScanAdminSite(admin.AdminSite):
    """The admin, closed to staff who have not passed a second factor when
    ``DERMASCAN_STAFF_REQUIRE_2FA`` is on; they are sent to set one up or enter a code."""

    login_form = AdminLoginForm
    login_template = "admin/dermascan_login.html"  # adds the authenticator code field

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and not staff_needs_second_factor(request.user)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        user = request.user
        if user.is_active and user.is_staff and staff_needs_second_factor(user):
            query = urlencode({"next": request.GET.get("next", reverse("admin:index"))})
            return redirect(f"{reverse('two-factor')}?{query}")
        return super().login(request, extra_context)


def confirmed_devices(user: Any) -> list:
    return list(devices_for_user(user, confirmed=True))
