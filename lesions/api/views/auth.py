"""Sign-in per device (with the second factor of users who set one up), sign-out of this
device or all, and the list of signed-in devices."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from lesions.api.authentication import DeviceTokenAuthentication
from lesions.api.base import ClinicalAPIView, ClinicalGenericView
from lesions.api.errors import error_responses
from lesions.api.serializers.auth import (
    DeviceSerializer,
    LoginOTPSerializer,
    LoginResponseSerializer,
    LoginSerializer,
    OTPRequiredSerializer,
)
from lesions.api.throttles import LoginIPThrottle, LoginUsernameThrottle
from lesions.models import DeviceToken, User
from lesions.services import devices, sign_in

TAGS = ["auth"]
OTP_MESSAGE = "Enter the current code from your authenticator app."


class InvalidCredentials(APIException):
    """The one answer to any refused password: wrong, unknown user, or no clinic."""

    status_code = 400
    default_code = "invalid_credentials"
    default_detail = "The username or password is not correct."


def invalid_code() -> ValidationError:
    return ValidationError({"otp_token": [OTP_MESSAGE]}, code="invalid_otp")


def otp_required(user: User, device_name: str) -> Response:
    body = {
        "error": {"code": "otp_required", "message": OTP_MESSAGE, "fields": {}},
        "challenge": sign_in.issue_challenge(user=user, device_name=device_name),
        "challenge_expires_in": sign_in.CHALLENGE_SECONDS,
    }
    return Response(body, status=401, headers={"WWW-Authenticate": 'OTP realm="api"'})


def signed_in(request: Request, user: User, device_name: str) -> Response:
    token, key = devices.sign_in_device(user=user, device_name=device_name)
    user_logged_in.send(sender=user.__class__, request=request._request, user=user)
    body = {"token": key, "expiry": token.expiry, "user": user, "clinic": user.clinic}
    body["device"] = token
    return Response(LoginResponseSerializer(body, context={"request": request}).data)


class LoginView(ClinicalAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginIPThrottle, LoginUsernameThrottle]

    @extend_schema(
        summary="Sign in a device",
        description=(
            "Exchanges a clinician's username and password for a token for this device "
            "(valid 30 days by default). Any refused sign-in answers the same 400. A user "
            "with two-factor sign-in sends `otp_token` too, or gets 401 `otp_required` with "
            "a `challenge` to redeem at `POST /api/v1/auth/login/otp/`. Throttled per client "
            "address and per username (429); repeated failures lock the account (429)."
        ),
        request=LoginSerializer,
        responses={
            200: LoginResponseSerializer,
            401: OpenApiResponse(OTPRequiredSerializer, description="A code is needed."),
            **{k: v for k, v in error_responses(400, 429).items() if k != 401},
        },
        examples=[
            OpenApiExample(
                "Sign in",
                value={"username": "ames", "password": "…", "device_name": "Ames iPhone"},
                request_only=True,
            )
        ],
        auth=[],
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = sign_in.check_password(
            request=request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            raise InvalidCredentials()
        device_name = data.validated_data["device_name"]
        if sign_in.needs_second_factor(user):
            code = data.validated_data.get("otp_token", "").strip()
            if not code:
                return otp_required(user, device_name)
            if not sign_in.check_second_factor(request=request._request, user=user, code=code):
                raise invalid_code()
        return signed_in(request, user, device_name)


class LoginOTPView(ClinicalAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginIPThrottle]

    @extend_schema(
        summary="Finish a two-factor sign-in with the authenticator code",
        description=(
            "The `challenge` of the login's `otp_required` answer (valid 5 minutes) and the "
            "current code. Wrong codes count towards the sign-in lockout like wrong passwords."
        ),
        request=LoginOTPSerializer,
        responses={200: LoginResponseSerializer, **error_responses(400, 429)},
        auth=[],
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = LoginOTPSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        challenge = sign_in.read_challenge(data.validated_data["challenge"])
        if challenge is None:
            raise ValidationError(
                {"challenge": ["The sign-in expired or is not valid; sign in again."]},
                code="invalid_challenge",
            )
        if sign_in.is_locked_out(request=request._request, user=challenge.user):
            return Response(status=429)  # AxesMiddleware writes the lockout answer
        user, code = challenge.user, data.validated_data["otp_token"]
        if not sign_in.check_second_factor(request=request._request, user=user, code=code):
            raise invalid_code()
        return signed_in(request, challenge.user, challenge.device_name)


class LogoutView(ClinicalAPIView):
    authentication_classes = [DeviceTokenAuthentication]

    @extend_schema(
        summary="Sign out this device",
        request=None,
        responses={204: None, **error_responses()},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        devices.sign_out_device(token=request.auth)
        user_logged_out.send(
            sender=request.user.__class__, request=request._request, user=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(ClinicalAPIView):
    authentication_classes = [DeviceTokenAuthentication]

    @extend_schema(
        summary="Sign out every device and every browser session of this user",
        request=None,
        responses={204: None, **error_responses()},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        devices.sign_out_everywhere(user=request.user)
        user_logged_out.send(
            sender=request.user.__class__, request=request._request, user=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def devices_of(user: User) -> QuerySet[DeviceToken]:
    """The user's devices still signed in (expired tokens are not devices any more)."""
    return DeviceToken.objects.filter(user=user, expiry__gt=timezone.now()).order_by(
        "-created", "-pk"
    )


class DeviceListView(ClinicalGenericView, generics.ListAPIView):
    serializer_class = DeviceSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[DeviceToken]:
        if getattr(self, "swagger_fake_view", False):
            return DeviceToken.objects.none()
        return devices_of(self.request.user)

    @extend_schema(
        summary="Devices signed in as this user, newest first",
        responses={200: DeviceSerializer(many=True), **error_responses(400, 403, 404)},
        tags=TAGS,
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return self.list(request, *args, **kwargs)


class DeviceDetailView(ClinicalAPIView):
    @extend_schema(
        summary="Sign out one device (e.g. a lost phone)",
        request=None,
        responses={204: None, **error_responses(403, 404)},
        tags=TAGS,
    )
    def delete(self, request: Request, device_key: str) -> Response:
        devices.sign_out_device(
            token=get_object_or_404(devices_of(request.user), token_key=device_key)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
