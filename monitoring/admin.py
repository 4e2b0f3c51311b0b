"""Monitoring in the admin: alerts (acknowledge), reports (read-only), guard overrides.

An override is the one write here: a superuser picks the refused candidate and writes the
reason; ``services.override_activation_guard`` records it (never edited or deleted after).
The activation itself stays the model versions' own admin action.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from monitoring.models import ActivationOverride, Alert, ChallengerReport
from monitoring.selectors import clinics_for
from monitoring.services import acknowledge_alert, override_activation_guard
from monitoring.services.retraining import check_override


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = (
        "kind",
        "clinic",
        "model_label",
        "raised_at",
        "last_seen_at",
        "resolved_at",
        "acknowledged_at",
    )
    list_filter = ("kind", "resolved_at", "acknowledged_at")
    actions = ["acknowledge"]
    readonly_fields = [f.name for f in Alert._meta.fields]

    def get_queryset(self, request):
        # A clinic's alerts to its own monitoring staff; superusers see every clinic's.
        return super().get_queryset(request).filter(clinic__in=clinics_for(request.user))

    def has_add_permission(self, request):
        return False  # alerts come from the periodic check

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what was found stays

    @admin.action(description="Acknowledge (seen, and reviewed where it is a case)")
    def acknowledge(self, request, queryset):
        for alert in queryset:
            acknowledge_alert(alert=alert, user=request.user)
        self.message_user(request, f"{queryset.count()} alert(s) acknowledged.", messages.SUCCESS)


@admin.register(ChallengerReport)
class ChallengerReportAdmin(admin.ModelAdmin):
    list_display = ("candidate", "champion_label", "worse_on", "created_at")
    readonly_fields = ("candidate", "champion_label", "worse_on", "report", "created_at")

    def has_add_permission(self, request):
        return False  # reports come from compare_models

    def has_change_permission(self, request, obj=None):
        return False


class ActivationOverrideForm(forms.ModelForm):
    """Refuses, with the service's own words, what the service would refuse."""

    class Meta:
        model = ActivationOverride
        fields = ("version", "reason")

    def clean(self):
        data = super().clean()
        version, reason = data.get("version"), data.get("reason") or ""
        if version is not None:
            try:
                check_override(version=version, user=self.current_user, reason=reason)
            except PermissionDenied as exc:
                raise ValidationError(str(exc)) from None
        return data


@admin.register(ActivationOverride)
class ActivationOverrideAdmin(admin.ModelAdmin):
    list_display = ("version", "created_by", "created_at")
    form = ActivationOverrideForm

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return False  # audited: never edited

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.current_user = request.user
        return form

    def save_model(self, request, obj, form, change):
        saved = override_activation_guard(version=obj.version, user=request.user, reason=obj.reason)
        obj.pk, obj.report, obj.created_by = saved.pk, saved.report, saved.created_by
        obj.created_at = saved.created_at
