"""The audit trail in the admin: read-only, scoped to the clinic."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from lesions.admin.scoping import ClinicFilter, ClinicScopedAdmin
from lesions.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ClinicScopedAdmin):
    """The audit trail is evidence: staff read it, nobody adds, edits or deletes it."""

    list_display = [
        "occurred_at",
        "actor",
        "action",
        "target_type",
        "target_repr",
        "clinic",
        "changed_fields",
    ]
    list_filter = ["action", "target_type", ("clinic", ClinicFilter)]
    list_select_related = ["actor", "clinic"]
    search_fields = ["target_repr", "actor__username", "=patient_id", "=target_id"]
    # No date hierarchy: the trail grows with every audited read, and its year/month links
    # are a DISTINCT over all of it on every load.

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
