"""Setting up and using a TOTP authenticator (django-otp) for the signed-in user."""

from __future__ import annotations

import base64

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .accounts import confirmed_devices


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol a device (shown as a key and an otpauth:// link), or verify this session with one."""
    user = request.user
    devices = confirmed_devices(user)
    device = devices[0] if devices else _pending_device(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"].strip()):
            if not device.confirmed:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                messages.success(request, "Two-factor sign-in is set up.")
            otp_login(request, device)
            return redirect(_next_url(request))
        form.add_error(
            "code",
            "That code is not valid. Wait a few seconds, check your phone's clock, and retry.",
        )
    context = {
        "form": form,
        "enrolled": device.confirmed,
        "verified": user.is_verified(),
        "secret": base64.b32encode(device.bin_key).decode(),
        "config_url": device.config_url,
        "next": request.GET.get("next", ""),
    }
    return render(
        request, "registration/two_factor.html", context, status=400 if form.errors else 200
    )


def _pending_device(user) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)


def _next_url(request: HttpRequest) -> str:
    target = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return "/"
