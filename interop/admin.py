"""PACS sends in the admin: read-only (a send is the record of what left), clinic-scoped."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from interop.models import PacsSend
from lesions.admin.scoping import ClinicScopedAdmin


@admin.register(PacsSend)
class PacsSendAdmin(ClinicScopedAdmin, admin.ModelAdmin):
    clinic_lookup = "patient__clinic"
    list_display = ["pk", "patient", "captured_on", "status", "instances_stored", "created_at"]
    list_filter = ["status"]
    readonly_fields = [field.name for field in PacsSend._meta.fields]

    def audited_record(self, obj: PacsSend):
        return obj.patient

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PacsSend | None = None) -> bool:
        return False
