from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from lesions import selectors, services
from lesions.forms import NewLesionForm, PatientForm, add_service_errors
from lesions.models import Lesion, Patient
from lesions.templatetags.pages import risk_label

from .access import clinician_required

PATIENTS_PER_PAGE = 25


@clinician_required
@require_http_methods(["GET"])
def patient_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    patients = selectors.patient_list_for(request.user, query=query)
    paginator = selectors.PatientPaginator(patients, PATIENTS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = selectors.with_latest_risk(list(page.object_list))
    return render(request, "lesions/patient_list.html", {"page": page, "query": query})


@clinician_required
@require_http_methods(["GET", "POST"])
def patient_create(request: HttpRequest) -> HttpResponse:
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.create_patient(
                clinic=request.user.clinic, created_by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Patient {patient.name} created.")
            return redirect("lesions:patient-detail", patient_pk=patient.pk)
    return _render_form(request, form, patient=None)


@clinician_required
@require_http_methods(["GET"])
def patient_detail(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = selectors.get_patient_for(request.user, patient_pk)
    services.record_view(actor=request.user, target=patient)
    return render_patient_page(request, patient, NewLesionForm())


@clinician_required
@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = selectors.get_patient_for(request.user, patient_pk)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_patient(patient=patient, changed_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Patient details saved.")
            return redirect("lesions:patient-detail", patient_pk=patient.pk)
    return _render_form(request, form, patient=patient)


@clinician_required
@require_http_methods(["GET", "POST"])
def patient_delete(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = selectors.get_patient_for(request.user, patient_pk)
    if request.method == "POST":
        services.delete_patient(patient=patient, deleted_by=request.user)
        messages.success(request, f"Patient {patient.name} and all their lesions were deleted.")
        return redirect("lesions:patient-list")
    return render(
        request,
        "lesions/confirm_delete.html",
        {
            "object": patient,
            "kind": "patient",
            "consequence": "All of this patient's lesions and images are deleted with them.",
            "cancel_url": patient.get_absolute_url(),
        },
    )


def render_patient_page(
    request: HttpRequest, patient: Patient, new_lesion_form: NewLesionForm, status: int = 200
) -> HttpResponse:
    """The patient page; also re-shown, with errors, when a new lesion is refused."""
    lesions = list(selectors.lesions_of(patient))
    markers = [body_map_marker(lesion, state=lesion.latest_state) for lesion in lesions]
    return render(
        request,
        "lesions/patient_detail.html",
        {
            "patient": patient,
            "lesions": lesions,
            "markers": markers,
            "new_lesion_form": new_lesion_form,
            "next_visit_on": selectors.next_visit_of(lesions),
        },
        status=status,
    )


def body_map_marker(lesion: Lesion, *, state: str | None, link: bool = True) -> dict:
    """What body-map.js draws for one lesion: its stable number, where it is, and the
    latest result state (the marker's colour and words) with the evolving flag."""
    return {
        "id": lesion.pk,
        "number": lesion.number,
        "label": lesion.label,
        "site": lesion.get_body_site_display(),
        "view": lesion.body_view,
        "x": lesion.map_x,
        "y": lesion.map_y,
        "status": lesion.status,
        "state": state or "",
        "state_label": risk_label(state),
        "evolving": lesion.evolving,
        "evolving_reason": lesion.evolving_reason,
        "url": lesion.get_absolute_url() if link else "",
    }


def _render_form(
    request: HttpRequest, form: PatientForm, *, patient: Patient | None
) -> HttpResponse:
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request, "lesions/patient_form.html", {"form": form, "patient": patient}, status=status
    )
