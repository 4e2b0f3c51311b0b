"""Analyses in the admin: the model that made each, re-analysis of outdated results, heatmaps."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from lesions import selectors, services
from lesions.admin.images import ReanalyseMixin, model_label
from lesions.admin.records import thumbnail_html
from lesions.admin.scoping import ClinicScopedAdmin, scope_to_clinic
from lesions.models import Analysis, LesionImage
from lesions.views.streaming import stream_heatmap


class RiskLevelFilter(admin.SimpleListFilter):
    """The engine's risk levels, listed without a DISTINCT over every analysis."""

    title = "risk level"
    parameter_name = "risk_level"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("high", "High"), ("moderate", "Moderate"), ("low", "Low")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(risk_level=self.value()) if self.value() else queryset


class ModelAgeFilter(admin.SimpleListFilter):
    title = "model"
    parameter_name = "model"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("current", "The model served now"), ("older", "An older model")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() not in ("current", "older"):
            return queryset
        current = selectors.served_model_sha256()
        done = queryset.filter(status="done")
        if self.value() == "current":
            return done.filter(model_sha256=current)
        return done.exclude(model_sha256=current)


@admin.register(Analysis)
class AnalysisAdmin(ReanalyseMixin, ClinicScopedAdmin):
    """Staff review analyses here. Read-only: a result is never edited, only superseded
    by a new analysis (the actions below, or the lesion page's re-analyse button)."""

    list_display = [
        "pk",
        "preview",
        "patient",
        "lesion",
        "status",
        "result_state",
        "top_class_display",
        "confidence_percent",
        "risk_level",
        "uncertain",
        "model_label",
        "attempts",
        "created_at",
        "inference_ms",
    ]
    list_display_links = ["pk", "preview"]
    list_filter = [
        "status",
        "result_state",
        RiskLevelFilter,
        "uncertain",
        ModelAgeFilter,
        "model_version",
    ]
    list_select_related = ["image__lesion__patient", "model_version"]
    clinic_lookup = "image__lesion__patient__clinic"
    search_fields = ["=image__pk", "image__lesion__label", "top_class", "failure_reason"]
    # No date hierarchy: its year/month links are a DISTINCT over every analysis.
    readonly_fields = [
        "image",
        "status",
        "failure_reason",
        "requested_by",
        "attempts",
        "task_id",
        "created_at",
        "enqueued_at",
        "started_at",
        "finished_at",
        "inference_ms",
        "model_version",
        "model_id",
        "model_sha256",
        "top_class",
        "top_class_display",
        "confidence",
        "uncertain",
        "uncertainty_message",
        "entropy",
        "risk_level",
        "recommended_action",
        "malignant_probability",
        "probabilities",
        "tta_views",
        "tta_spread",
        "heatmap_preview",
    ]
    fields = readonly_fields
    actions = ["reanalyse_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    # Deletion stays allowed for staff with the permission: deleting an image in the
    # admin deletes its analyses with it. There is no bulk delete of results, though.
    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def audited_record(self, analysis: Analysis) -> LesionImage:
        return analysis.image  # its page shows the image and the patient's result

    @admin.display(description="image")
    def preview(self, analysis: Analysis) -> str:
        return thumbnail_html(analysis.image, size=48)

    # Not named "model": that is ModelAdmin.model (the Analysis class), which the list
    # would print instead of calling a method of that name.
    @admin.display(description="model", ordering="model_version__number")
    def model_label(self, analysis: Analysis) -> str:
        return model_label(analysis)

    @admin.display(description="confidence", ordering="confidence")
    def confidence_percent(self, analysis: Analysis) -> str:
        return "—" if analysis.confidence is None else f"{100 * analysis.confidence:.1f} %"

    @admin.display(description="patient", ordering="image__lesion__patient__family_name")
    def patient(self, analysis: Analysis) -> str:
        patient = analysis.image.lesion.patient
        return f"{patient.listed_name} ({patient.medical_record_number})"

    @admin.display(description="lesion", ordering="image__lesion__number")
    def lesion(self, analysis: Analysis) -> str:
        lesion = analysis.image.lesion
        return f"{lesion.number}. {lesion.label}"

    @admin.display(description="heatmap")
    def heatmap_preview(self, analysis: Analysis) -> str:
        if not analysis.heatmap:
            return "—"
        url = reverse("admin:lesions_analysis_heatmap", kwargs={"analysis_pk": analysis.pk})
        return format_html('<img src="{}" alt="Heatmap" width="320">', url)

    @admin.action(
        description="Re-analyse the images of the selected analyses", permissions=["reanalyse"]
    )
    def reanalyse_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        images = LesionImage.objects.filter(pk__in=queryset.values("image_id"))
        analyses = services.reanalyse_images(images=images, requested_by=request.user)
        self.message_user(request, f"{len(analyses)} image(s) queued for analysis.")

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "reanalyse-outdated/",
                self.admin_site.admin_view(self.reanalyse_outdated_view),
                name="lesions_analysis_reanalyse_outdated",
            ),
            path(
                "<int:analysis_pk>/heatmap/",
                self.admin_site.admin_view(self.heatmap_view),
                name="lesions_analysis_heatmap",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        # The outdated images are counted on the re-analysis page, not on every list load.
        extra_context = {
            **(extra_context or {}),
            "can_reanalyse": self.has_reanalyse_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def outdated_images(self, request: HttpRequest) -> QuerySet[LesionImage]:
        """Images analysed by an older model, of the clinics this user reviews."""
        images = selectors.images_analysed_by_older_models()
        return scope_to_clinic(images, request.user, "lesion__patient__clinic")

    def reanalyse_outdated_view(self, request: HttpRequest) -> HttpResponse:
        """One click: every image whose newest result came from an older model version."""
        if not self.has_reanalyse_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Re-analyse images analysed by an older model",
                "outdated_count": self.outdated_images(request).count(),
            }
            return TemplateResponse(
                request, "admin/lesions/analysis/reanalyse_outdated.html", context
            )
        analyses = services.reanalyse_images(
            images=self.outdated_images(request).select_related("lesion"),
            requested_by=request.user,
        )
        self.message_user(
            request,
            f"{len(analyses)} image(s) analysed by an older model queued for analysis.",
            messages.SUCCESS,
        )
        return redirect("admin:lesions_analysis_changelist")

    def heatmap_view(self, request: HttpRequest, analysis_pk: int) -> FileResponse:
        analysis = get_object_or_404(self.get_queryset(request), pk=analysis_pk)
        if not self.has_view_permission(request, analysis):
            raise PermissionDenied
        return stream_heatmap(analysis)
