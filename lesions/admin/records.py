"""Patients and lesions in the admin. Writes go through the services, so the admin is audited like
the pages; reads of patient data are audited and every list is scoped to the clinic (see
``lesions.admin.scoping``)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import OuterRef, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from lesions import services
from lesions.admin.scoping import ClinicFilter, ClinicScopedAdmin
from lesions.models import Clinic, Lesion, LesionImage, Patient
from lesions.selectors import count_of
from lesions.services.lesions import LESION_EDITABLE_FIELDS
from lesions.services.patients import PATIENT_EDITABLE_FIELDS


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
    inlines = [LesionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Patient]:
        # A subquery per listed row, not a join grouped over every patient before the page.
        lesions = Lesion.objects.filter(patient=OuterRef("pk"))
        return super().get_queryset(request).annotate(lesion_count=count_of(lesions))

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
        images = LesionImage.objects.filter(lesion=OuterRef("pk"))
        return super().get_queryset(request).annotate(image_count=count_of(images))

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
