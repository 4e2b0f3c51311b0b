"""Staff work here. Writes go through the services, so the admin is audited like the pages;
reads of patient data are audited and every list is scoped to the clinic (see
``lesions.admin_scoping``); images are shown through a permission-checked view, never
through MEDIA_URL."""

from __future__ import annotations

from axes.utils import reset as axes_reset
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.forms import ModelForm
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from lesions import selectors, services
from lesions.admin_scoping import ClinicScopedAdmin, scope_to_clinic
from lesions.models import Analysis, AuditEvent, Clinic, Lesion, LesionImage, Patient, User
from lesions.services.lesions import LESION_EDITABLE_FIELDS
from lesions.services.patients import PATIENT_EDITABLE_FIELDS
from lesions.views.streaming import stream_heatmap, stream_image

ClinicFilter = admin.RelatedOnlyFieldListFilter  # offers only the clinics the user may see


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    clinic_lookup = "pk"
    list_display = ["name", "member_count", "patient_count", "created_at"]
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


class ServiceBackedAdmin(ClinicScopedAdmin):
    """Saves and deletes through the services, so admin edits are validated and audited."""

    def audited_record(self, obj: Patient | Lesion | LesionImage) -> Patient | Lesion | LesionImage:
        return obj

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for record in queryset:
            self.delete_model(request, record)


class LesionInline(admin.TabularInline):
    model = Lesion
    fields = ["number", "label", "body_site", "body_view", "status", "first_noted_on"]
    readonly_fields = fields
    show_change_link = True
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Patient)
class PatientAdmin(ServiceBackedAdmin):
    list_display = [
        "listed_name",
        "medical_record_number",
        "clinic",
        "date_of_birth",
        "sex",
        "fitzpatrick_skin_type",
        "lesion_count",
        "updated_at",
    ]
    list_filter = [("clinic", ClinicFilter), "sex", "fitzpatrick_skin_type"]
    list_select_related = ["clinic"]
    search_fields = ["family_name", "given_names", "medical_record_number"]
    # also for the autocomplete, whose count annotation drops Meta's
    ordering = ["family_name", "given_names", "pk"]
    date_hierarchy = "created_at"
    inlines = [LesionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Patient]:
        return super().get_queryset(request).annotate(lesion_count=Count("lesions"))

    def get_readonly_fields(self, request: HttpRequest, obj: Patient | None = None) -> list[str]:
        # A patient's records stay in the clinic that created them.
        return ["clinic"] if obj else []

    @admin.display(description="name", ordering="family_name")
    def listed_name(self, patient: Patient) -> str:
        return patient.listed_name

    @admin.display(description="lesions", ordering="lesion_count")
    def lesion_count(self, patient: Patient) -> int:
        return patient.lesion_count

    def save_model(self, request: HttpRequest, obj: Patient, form: ModelForm, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in PATIENT_EDITABLE_FIELDS}
        if change:
            services.update_patient(patient=obj, changed_by=request.user, **fields)
        else:
            created = services.create_patient(
                clinic=form.cleaned_data["clinic"], created_by=request.user, **fields
            )
            obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: Patient) -> None:
        services.delete_patient(patient=obj, deleted_by=request.user)


def thumbnail_html(image: LesionImage, size: int = 96) -> str:
    url = reverse("admin:lesions_lesionimage_file", kwargs={"image_pk": image.pk})
    return format_html(
        '<img src="{}?size=thumbnail" alt="Image {} of lesion {}" width="{}" loading="lazy" '
        'style="height:auto;border-radius:4px">',
        url,
        image.pk,
        image.lesion_id,
        size,
    )


class LesionImageInline(admin.TabularInline):
    model = LesionImage
    fields = ["preview", "captured_on", "modality", "width", "height", "uploaded_by"]
    readonly_fields = fields
    show_change_link = True
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="image")
    def preview(self, image: LesionImage) -> str:
        return thumbnail_html(image)


@admin.register(Lesion)
class LesionAdmin(ServiceBackedAdmin):
    list_display = [
        "label",
        "number",
        "patient",
        "patient",
        "clinic",
        "body_site",
        "body_view",
        "status",
        "image_count",
        "first_noted_on",
    ]
    list_filter = ["status", "body_site", "body_view", ("patient__clinic", ClinicFilter)]
    clinic_lookup = "patient__clinic"
    list_select_related = ["patient__clinic"]
    search_fields = [
        "label",
        "patient__family_name",
        "patient__given_names",
        "patient__medical_record_number",
    ]
    autocomplete_fields = ["patient"]
    inlines = [LesionImageInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Lesion]:
        return super().get_queryset(request).annotate(image_count=Count("images"))

    def get_readonly_fields(self, request: HttpRequest, obj: Lesion | None = None) -> list[str]:
        return ["patient", "number"] if obj else []

    @admin.display(description="clinic", ordering="patient__clinic__name")
    def clinic(self, lesion: Lesion) -> Clinic:
        return lesion.patient.clinic

    @admin.display(description="images", ordering="image_count")
    def image_count(self, lesion: Lesion) -> int:
        return lesion.image_count

    def save_model(self, request: HttpRequest, obj: Lesion, form: ModelForm, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in LESION_EDITABLE_FIELDS}
        if change:
            services.update_lesion(lesion=obj, changed_by=request.user, **fields)
        else:
            created = services.create_lesion(
                patient=form.cleaned_data["patient"], created_by=request.user, **fields
            )
            obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: Lesion) -> None:
        services.delete_lesion(lesion=obj, deleted_by=request.user)


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
    date_hierarchy = "captured_on"
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
        "risk_level",
        "uncertain",
        ModelAgeFilter,
        "model_version",
    ]
    list_select_related = ["image__lesion__patient", "model_version"]
    clinic_lookup = "image__lesion__patient__clinic"
    search_fields = ["=image__pk", "image__lesion__label", "top_class", "failure_reason"]
    date_hierarchy = "created_at"
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
        extra_context = {
            **(extra_context or {}),
            "outdated_count": self.outdated_images(request).count(),
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
            return redirect("admin:lesions_analysis_changelist")
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
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


from lesions import admin_reviews  # noqa: E402, F401  (reviews and agreement figures)
