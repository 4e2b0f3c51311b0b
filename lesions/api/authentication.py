"""Per-device tokens (django-rest-knox) that also remember when the device was last used."""

from __future__ import annotations

import datetime

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.signals import token_expired

from lesions.models import DeviceToken

# "Last used" is for people telling their devices apart, not an access log: writing it at
# most once a minute keeps reads free of a write per request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class DeviceTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <token>``; an unknown, revoked or expired token answers 401."""

    def _cleanup_token(self, auth_token: DeviceToken) -> bool:
        """Refuse (and delete) the presented token if it expired; ``True`` when it did.

        knox's own version also loads every token of the user on every request, to delete
        the expired ones: a query per request that grows with the user's devices. Expired
        tokens authenticate nothing and are not listed as devices; sign-in removes them
        (``services.devices.sign_in_device``).
        """
        if auth_token.expiry is None or auth_token.expiry >= timezone.now():
            return False
        username = auth_token.user.get_username()
        auth_token.delete()
        token_expired.send(sender=self.__class__, username=username, source="auth_token")
        return True

    def validate_user(self, auth_token: DeviceToken):
        user, token = super().validate_user(auth_token)
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            DeviceToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return user, token


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    """How the schema (and a client generated from it) describes the token header."""

    target_class = DeviceTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'The token from login, with the prefix "Token ": `Token 3f9a…`.',
        }
