from __future__ import annotations

from rest_framework import serializers

from interop.models import PacsSend


class PacsSendSerializer(serializers.ModelSerializer):
    class Meta:
        model = PacsSend
        fields = [
            "id",
            "patient",
            "captured_on",
            "status",
            "failure_reason",
            "attempts",
            "instances_total",
            "instances_stored",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class PacsSendRequestSerializer(serializers.Serializer):
    captured_on = serializers.DateField(
        required=False, allow_null=True, help_text="Send only this visit; omit for every visit."
    )
