"""Clinics and their staff accounts in the admin (unlocking a locked sign-in included)."""

from __future__ import annotations

from axes.utils import reset as axes_reset
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from lesions.admin.scoping import ClinicFilter, ClinicScopedAdmin
from lesions.models import Clinic, User
from lesions.models.user import UNLOCK_SIGN_IN_PERMISSION

# Who may do what in the admin: only a superuser grants privileges. Anyone else who may
# change accounts edits names, e-mail, password and clinic of others, never these.
PRIVILEGE_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions")
# On one's own account, nothing that widens what one sees or may do.
OWN_ACCOUNT_FIELDS = (*PRIVILEGE_FIELDS, "is_active", "clinic")


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

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return fields
        # Read-only fields are left out of the submitted form: a forged POST changes nothing.
        locked = (
            OWN_ACCOUNT_FIELDS
            if obj is not None and obj.pk == request.user.pk
            else (PRIVILEGE_FIELDS)
        )
        return [*fields, *(name for name in locked if name not in fields)]

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # A superuser's account (its password above all) is a superuser's to change.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(UNLOCK_SIGN_IN_PERMISSION)

    @admin.action(description="Unlock sign-in (forget failed attempts)", permissions=["unlock"])
    def unlock_sign_in(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            axes_reset(username=user.get_username())
        self.message_user(request, f"Sign-in unlocked for {len(queryset)} user(s).")
