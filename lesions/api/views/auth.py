"""Sign-in per device, sign-out of this device or all, and the list of signed-in devices."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from lesions.api.authentication import DeviceTokenAuthentication
from lesions.api.base import ClinicalAPIView
from lesions.api.errors import error_responses
from lesions.api.serializers.auth import (
    DeviceSerializer,
    LoginResponseSerializer,
    LoginSerializer,
)
from lesions.api.throttles import LoginIPThrottle, LoginUsernameThrottle
from lesions.models import DeviceToken, User
from lesions.services import devices

TAGS = ["auth"]


class InvalidCredentials(APIException):
    status_code = 400
    default_code = "invalid_credentials"
    default_detail = "The username or password is not correct."


class LoginView(ClinicalAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginIPThrottle, LoginUsernameThrottle]

    @extend_schema(
        summary="Sign in a device",
        description=(
            "Exchanges a clinician's username and password for a token for this device "
            "(valid 30 days by default). Throttled per IP address and per username (429)."
        ),
        request=LoginSerializer,
        responses={200: LoginResponseSerializer, **error_responses(400, 403, 429)},
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
        # django.contrib.auth's authenticate(): login-failure signals and lockouts apply.
        user = authenticate(
            request=request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            raise InvalidCredentials()
        if not user.is_clinician:
            raise PermissionDenied("This account is not attached to a clinic.")
        token, key = devices.sign_in_device(
            user=user, device_name=data.validated_data["device_name"]
        )
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        body = {
            "token": key,
            "expiry": token.expiry,
            "user": user,
            "clinic": user.clinic,
            "device": token,
        }
        return Response(LoginResponseSerializer(body, context={"request": request}).data)


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
        summary="Sign out every device of this user",
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
    return DeviceToken.objects.filter(user=user, expiry__gt=timezone.now()).order_by("-created")


class DeviceListView(ClinicalAPIView):
    @extend_schema(
        summary="Devices signed in as this user",
        responses={200: DeviceSerializer(many=True), **error_responses(403)},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        signed_in = devices_of(request.user)
        return Response(DeviceSerializer(signed_in, many=True, context={"request": request}).data)


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
