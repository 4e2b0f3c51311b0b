"""The monitoring API's bodies: the page's aggregates, described for the schema."""

from __future__ import annotations

from rest_framework import serializers

from lesions.api.base import NOT_A_DIAGNOSTIC_DEVICE
from monitoring.selectors.report import ClinicReport


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()


class AlertSerializer(serializers.Serializer):
    kind = serializers.CharField()
    model = serializers.CharField(allow_blank=True)
    message = serializers.CharField()
    raised_at = serializers.DateTimeField(
        allow_null=True, help_text="Null: found live, not recorded."
    )


class MonitoringSummarySerializer(serializers.Serializer):
    clinic = serializers.CharField()
    period = PeriodSerializer()
    models = serializers.ListField(
        child=serializers.DictField(),
        help_text="Per model version: analyses, states, shares with 95 % intervals, quality "
        "reasons and the drift of the gate distance against val (docs/monitoring.md).",
    )
    alerts = AlertSerializer(many=True)
    notice = serializers.CharField()


class MissSerializer(serializers.Serializer):
    analysis_id = serializers.IntegerField()
    lesion_id = serializers.IntegerField()
    lesion_number = serializers.IntegerField()
    diagnosis = serializers.CharField()
    analysed_at = serializers.DateTimeField()
    model = serializers.CharField()


class MonitoringOutcomesSerializer(serializers.Serializer):
    clinic = serializers.CharField()
    period = PeriodSerializer()
    outcomes = serializers.ListField(
        child=serializers.DictField(),
        help_text="Per model version, on lesions with a confirmed diagnosis: sensitivity and "
        "specificity with exact intervals, AUC and ECE with bootstrap intervals; `enough` is "
        "false (value null) below the documented minimum counts.",
    )
    misses = MissSerializer(many=True)
    notice = serializers.CharField()


def _period(report: ClinicReport) -> dict:
    return {"start": report.period.start, "end": report.period.end}


def summary_body(report: ClinicReport, recorded) -> dict:
    live = [
        {"kind": c.kind, "model": c.model_label, "message": c.message, "raised_at": None}
        for c in report.conditions
    ]
    stored = [
        {"kind": a.kind, "model": a.model_label, "message": a.message, "raised_at": a.raised_at}
        for a in recorded
    ]
    return {
        "clinic": report.clinic.name,
        "period": _period(report),
        "models": [f.to_dict() for f in report.figures],
        "alerts": live + stored,
        "notice": NOT_A_DIAGNOSTIC_DEVICE,
    }


def outcomes_body(report: ClinicReport) -> dict:
    return {
        "clinic": report.clinic.name,
        "period": _period(report),
        "outcomes": [o.to_dict() for o in report.outcomes],
        "misses": [
            {
                "analysis_id": m.analysis_id,
                "lesion_id": m.lesion_id,
                "lesion_number": m.lesion_number,
                "diagnosis": m.diagnosis,
                "analysed_at": m.analysed_at,
                "model": m.model_label,
            }
            for m in report.misses
        ],
        "notice": NOT_A_DIAGNOSTIC_DEVICE,
    }
