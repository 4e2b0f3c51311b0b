from __future__ import annotations

from rest_framework import serializers

from lesions.api.errors import ErrorDetailSerializer
from lesions.models import DeviceToken

OTP_HELP = "The current code of the user's authenticator app, if they set up two-factor sign-in."


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})
    device_name = serializers.CharField(
        max_length=100, help_text="Shown in the list of devices, e.g. “Dr Ames’s iPhone”."
    )
    otp_token = serializers.CharField(
        max_length=8, required=False, allow_blank=True, help_text=OTP_HELP
    )


class LoginOTPSerializer(serializers.Serializer):
    challenge = serializers.CharField(
        max_length=2000, help_text="The `challenge` of the login's `otp_required` answer."
    )
    otp_token = serializers.CharField(max_length=8, help_text=OTP_HELP)


class OTPRequiredSerializer(serializers.Serializer):
    """The password was right; the account has two-factor sign-in. No token yet."""

    error = ErrorDetailSerializer()
    challenge = serializers.CharField(
        help_text="Send it with the code to `POST /api/v1/auth/login/otp/`."
    )
    challenge_expires_in = serializers.IntegerField(help_text="Seconds the challenge is valid.")


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField(source="get_full_name")


class ClinicSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DeviceSerializer(serializers.ModelSerializer):
    key = serializers.CharField(source="token_key", help_text="Identifies the device's token.")
    current = serializers.SerializerMethodField(help_text="The device making this request.")

    class Meta:
        model = DeviceToken
        fields = ("key", "device_name", "created", "expiry", "last_used_at", "current")
        read_only_fields = fields

    def get_current(self, token: DeviceToken) -> bool:
        return token.pk == getattr(self.context["request"].auth, "pk", None)


class LoginResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
    expiry = serializers.DateTimeField()
    user = UserSummarySerializer()
    clinic = ClinicSummarySerializer()
    device = DeviceSerializer()
