"""API sign-in per device: a knox token per device, revoked one at a time or all at once."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from knox.settings import knox_settings

from lesions.models import DeviceToken, User


def sign_in_device(*, user: User, device_name: str) -> tuple[DeviceToken, str]:
    """A new token for ``device_name``; returns the row and the token (shown once, never
    stored: the row keeps only its hash). The user's expired tokens are deleted: requests
    only check the token they present (``lesions.api.authentication``)."""
    with transaction.atomic():
        DeviceToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        token = DeviceToken(user=user, device_name=device_name.strip()[:100])
        token.full_clean(exclude=["digest", "token_key"])
        return DeviceToken.objects.create(
            user=user, expiry=knox_settings.TOKEN_TTL, device_name=token.device_name
        )


def sign_out_device(*, token: DeviceToken) -> None:
    token.delete()


def sign_out_everywhere(*, user: User) -> int:
    """Revoke every token of ``user``; returns how many devices were signed out."""
    deleted, _ = DeviceToken.objects.filter(user=user).delete()
    return deleted
