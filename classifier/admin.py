from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from classifier.models import ModelVersion
from classifier.services import activate_model_version


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
