"""Clinics and their staff accounts in the admin (unlocking a locked sign-in included)."""

from __future__ import annotations

from axes.utils import reset as axes_reset
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from lesions.admin.scoping import ClinicFilter, ClinicScopedAdmin
from lesions.models import Clinic, User


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    clinic_lookup = "pk"
    list_display = ["name", "audience", "member_count", "patient_count", "created_at"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Clinic]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_count=Count("members", distinct=True),
                patient_count=Count("patients", distinct=True),
            )
        )

    @admin.display(description="members", ordering="member_count")
    def member_count(self, clinic: Clinic) -> int:
        return clinic.member_count

    @admin.display(description="patients", ordering="patient_count")
    def patient_count(self, clinic: Clinic) -> int:
        return clinic.patient_count


@admin.register(User)
class UserAdmin(ClinicScopedAdmin, DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "clinic", "is_staff"]
    list_filter = [("clinic", ClinicFilter), "is_staff", "is_superuser", "is_active"]
    actions = ["unlock_sign_in"]
    list_select_related = ["clinic"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Clinic", {"fields": ["clinic"]}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("Clinic", {"fields": ["clinic"]}),
    )

    @admin.action(description="Unlock sign-in (forget failed attempts)", permissions=["change"])
    def unlock_sign_in(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            axes_reset(username=user.get_username())
        self.message_user(request, f"Sign-in unlocked for {len(queryset)} user(s).")
