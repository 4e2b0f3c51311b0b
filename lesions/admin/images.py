"""Lesion images in the admin, with their analyses; images are shown through a
permission-checked view, never through MEDIA_URL."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path

from lesions import services
from lesions.admin.records import ServiceBackedAdmin, thumbnail_html
from lesions.admin.scoping import ClinicFilter
from lesions.models import Analysis, LesionImage, Patient
from lesions.views.streaming import stream_image


class AnalysisInline(admin.TabularInline):
    """An image's analyses, newest first: results are kept, never overwritten."""

    model = Analysis
    fk_name = "image"
    fields = [
        "status",
        "top_class_display",
        "confidence",
        "risk_level",
        "uncertain",
        "model_label",
        "created_at",
        "finished_at",
        "failure_reason",
    ]
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]
    show_change_link = True
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="model")
    def model_label(self, analysis: Analysis) -> str:
        return model_label(analysis)


def model_label(analysis: Analysis) -> str:
    if analysis.model_version_id:
        return str(analysis.model_version)
    return f"{analysis.model_id} (default)" if analysis.model_id else "—"


class ReanalyseMixin:
    """Re-analysis is a write: staff need the permission to add analyses."""

    def has_reanalyse_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("lesions.add_analysis")


@admin.register(LesionImage)
class LesionImageAdmin(ReanalyseMixin, ServiceBackedAdmin):
    """Read-only apart from deletion: uploads go through the clinical pages and the API,
    where the image is validated and cleaned."""

    list_display = [
        "preview",
        "lesion",
        "patient",
        "captured_on",
        "modality",
        "dimensions",
        "uploaded_by",
        "created_at",
    ]
    list_display_links = ["preview", "lesion"]
    list_filter = ["modality", ("lesion__patient__clinic", ClinicFilter), "lesion__body_site"]
    clinic_lookup = "lesion__patient__clinic"
    list_select_related = ["lesion__patient", "uploaded_by"]
    search_fields = [
        "lesion__label",
        "lesion__patient__family_name",
        "lesion__patient__given_names",
        "content_sha256",
    ]
    fields = [
        "large_preview",
        "lesion",
        "captured_on",
        "modality",
        "uploaded_by",
        "width",
        "height",
        "content_type",
        "byte_size",
        "content_sha256",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [AnalysisInline]
    actions = ["reanalyse_selected_images"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Re-analyse the selected images", permissions=["reanalyse"])
    def reanalyse_selected_images(self, request: HttpRequest, queryset: QuerySet) -> None:
        analyses = services.reanalyse_images(images=queryset, requested_by=request.user)
        self.message_user(request, f"{len(analyses)} image(s) queued for analysis.")

    def get_urls(self) -> list[URLPattern]:
        file_view = self.admin_site.admin_view(self.file_view)
        return [
            path("<int:image_pk>/file/", file_view, name="lesions_lesionimage_file"),
            *super().get_urls(),
        ]

    def file_view(self, request: HttpRequest, image_pk: int) -> FileResponse:
        image = get_object_or_404(self.get_queryset(request), pk=image_pk)
        if not self.has_view_permission(request, image):
            raise PermissionDenied
        thumbnail = request.GET.get("size") == "thumbnail" and bool(image.thumbnail)
        if not thumbnail:
            services.record_view(actor=request.user, target=image)
        return stream_image(image, thumbnail=thumbnail)

    @admin.display(description="image")
    def preview(self, image: LesionImage) -> str:
        return thumbnail_html(image, size=72)

    @admin.display(description="image")
    def large_preview(self, image: LesionImage) -> str:
        return thumbnail_html(image, size=320)

    @admin.display(description="patient", ordering="lesion__patient__family_name")
    def patient(self, image: LesionImage) -> Patient:
        return image.lesion.patient

    @admin.display(description="pixels")
    def dimensions(self, image: LesionImage) -> str:
        return f"{image.width} × {image.height}"

    def delete_model(self, request: HttpRequest, obj: LesionImage) -> None:
        services.delete_lesion_image(image=obj, deleted_by=request.user)
