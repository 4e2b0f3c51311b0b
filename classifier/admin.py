from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse

from classifier.models import ModelVersion
from classifier.services import activate_model_version, delete_model_version


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("number", "name", "arch", "is_active", "balanced_accuracy", "created_at")
    list_filter = ("is_active", "arch")
    search_fields = ("name", "sha256")
    actions = ["activate"]
    readonly_fields = (
        "number",
        "name",
        "artifact_path",
        "arch",
        "classes",
        "metrics",
        "card",
        "sha256",
        "is_active",
        "activated_at",
        "activated_by",
        "created_at",
    )

    def has_add_permission(self, request):
        return False  # versions come from train_model, which writes and verifies the artifact

    def has_delete_permission(self, request, obj=None):
        # The served version cannot be deleted (the confirmation page says so too).
        return super().has_delete_permission(request, obj) and not (obj and obj.is_active)

    # Deleting goes through the service, which also deletes the files from the model store.
    def delete_model(self, request, obj):
        try:
            delete_model_version(version=obj)
        except ValidationError as exc:
            request._model_version_not_deleted = True
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)

    def delete_queryset(self, request, queryset):
        for version in queryset:
            self.delete_model(request, version)

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "_model_version_not_deleted", False):  # no "deleted" message
            return HttpResponseRedirect(reverse("admin:classifier_modelversion_changelist"))
        return super().response_delete(request, obj_display, obj_id)

    @admin.display(description="balanced accuracy")
    def balanced_accuracy(self, obj: ModelVersion):
        value = obj.headline_metrics.get("balanced_accuracy")
        return f"{value:.3f}" if isinstance(value, float) else "–"

    @admin.action(description="Activate (serve this version)")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        try:
            version = activate_model_version(version=queryset.get(), activated_by=request.user)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, f"{version} is now served.", messages.SUCCESS)
