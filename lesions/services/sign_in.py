"""API sign-in checks: the password, then the second factor of a user who set one up.

The same rules as the web sign-in (``dermascan_site.accounts``): ``authenticate()`` with the
request, so the lockout counts every failure; a wrong one-time code counts as a failure too.
A user with a confirmed TOTP device gets no token for a password alone: either the code comes
in the same request, or the answer is a short-lived signed challenge that the code redeems.
"""

from __future__ import annotations

from dataclasses import dataclass

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.core import signing
from django.http import HttpRequest
from django_otp import match_token, user_has_device

from lesions.models import User

CHALLENGE_SALT = "lesions.api.otp-challenge"
CHALLENGE_SECONDS = 300


def check_password(*, request: HttpRequest, username: str, password: str) -> User | None:
    """The clinician these credentials sign in, else None: a wrong password, a locked-out
    caller and an account with no clinic (staff) all look the same to the caller."""
    user = authenticate(request=request, username=username, password=password)
    if user is None or not user.is_clinician:
        return None
    return user


def needs_second_factor(user: User) -> bool:
    return user_has_device(user, confirmed=True)


def check_second_factor(*, request: HttpRequest, user: User, code: str) -> bool:
    """Whether ``code`` is the user's current one; a wrong code counts towards the lockout."""
    if match_token(user, code.strip()) is not None:
        return True
    user_login_failed.send(
        sender=__name__, credentials={"username": user.get_username()}, request=request
    )
    return False


def is_locked_out(*, request: HttpRequest, user: User) -> bool:
    """The lockout as authenticate() applies it, for the second step (which has no password)."""
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_allowed(request, credentials):
        return False
    request.axes_locked_out = True  # AxesMiddleware answers with the lockout response
    request.axes_credentials = credentials
    return True


@dataclass(frozen=True)
class Challenge:
    user: User
    device_name: str


def issue_challenge(*, user: User, device_name: str) -> str:
    """A signed, expiring proof that the password was right. It names no secret, and it dies
    with the password or a "sign out everywhere" (the session hash changes with both)."""
    payload = {"u": user.pk, "d": device_name, "h": user.get_session_auth_hash()}
    return signing.dumps(payload, salt=CHALLENGE_SALT, compress=True)


def read_challenge(token: str) -> Challenge | None:
    try:
        payload = signing.loads(token, salt=CHALLENGE_SALT, max_age=CHALLENGE_SECONDS)
    except signing.BadSignature:  # also an expired one
        return None
    user = User.objects.filter(pk=payload.get("u")).first()
    if user is None or not user.is_clinician or payload.get("h") != user.get_session_auth_hash():
        return None
    return Challenge(user=user, device_name=str(payload.get("d", "")))
