from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac

from .clinic import Clinic

UNLOCK_SIGN_IN_PERMISSION = "lesions.unlock_sign_in"


class User(AbstractUser):
    """A login. Clinicians belong to a clinic; staff reviewers may have none and use the admin."""

    clinic = models.ForeignKey(
        Clinic,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        help_text="The clinic whose patients this user sees. Empty for staff-only accounts.",
    )
    # Raised by "sign out everywhere": every browser session signed in before it stops
    # matching the user (see _get_session_auth_hash), whatever the session backend.
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        permissions = [
            # Unlocking a sign-in needs no right to change accounts (and so to change
            # anyone's privileges): a desk role can have this alone.
            ("unlock_sign_in", "Can unlock a user's sign-in after failed attempts"),
        ]

    @property
    def is_clinician(self) -> bool:
        return self.is_active and self.clinic_id is not None

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's session hash (it changes with the password), plus the generation.

        Generation 0 keeps Django's own hash, so sessions made before this field existed stay
        signed in; a raised generation ends every session made before it.
        """
        if not self.session_generation:
            return super()._get_session_auth_hash(secret=secret)
        key_salt = "lesions.User.get_session_auth_hash"
        value = f"{self.password}:{self.session_generation}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()
