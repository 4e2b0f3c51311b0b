"""API sign-in per device: a knox token per device, revoked one at a time or all at once."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from knox.settings import knox_settings

from lesions.models import DeviceToken, User


def sign_in_device(*, user: User, device_name: str) -> tuple[DeviceToken, str]:
    """A new token for ``device_name``; returns the row and the token (shown once, never
    stored: the row keeps only its hash). The user's expired tokens are deleted: requests
    only check the token they present (``lesions.api.authentication``). A user keeps at most
    ``DERMASCAN_API_MAX_DEVICES`` tokens: signing in one more signs the oldest out."""
    with transaction.atomic():
        # Serialises one user's sign-ins, so two at once cannot both stay under the cap.
        User.objects.select_for_update().filter(pk=user.pk).exists()
        DeviceToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        token = DeviceToken(user=user, device_name=device_name.strip()[:100])
        token.full_clean(exclude=["digest", "token_key"])
        created = DeviceToken.objects.create(
            user=user, expiry=knox_settings.TOKEN_TTL, device_name=token.device_name
        )
        keep = DeviceToken.objects.filter(user=user).order_by("-created", "-pk")
        beyond = keep.values_list("pk", flat=True)[settings.DERMASCAN_API_MAX_DEVICES :]
        DeviceToken.objects.filter(pk__in=list(beyond)).delete()
        return created


def sign_out_device(*, token: DeviceToken) -> None:
    token.delete()


def sign_out_everywhere(*, user: User) -> int:
    """Revoke every token of ``user`` and end every browser session of theirs; returns how
    many devices were signed out."""
    with transaction.atomic():
        deleted, _ = DeviceToken.objects.filter(user=user).delete()
        # Sessions store a hash that includes the generation (User._get_session_auth_hash):
        # raising it makes Django sign each of them out at its next request.
        User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])
    return deleted
