from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods

from lesions import selectors, services
from lesions.forms import (
    CompareForm,
    ImageUploadForm,
    LesionForm,
    NewLesionForm,
    add_service_errors,
)
from lesions.models import Lesion

from .access import clinician_required
from .follow_up import follow_up_context
from .patients import body_map_marker, render_patient_page


@clinician_required
@require_http_methods(["GET", "POST"])
def lesion_create(request: HttpRequest, patient_pk: int) -> HttpResponse:
    """POST from the body map on the patient page. GET is the same form on its own page,
    prefilled from the query string, for browsers without JavaScript."""
    patient = selectors.get_patient_for(request.user, patient_pk)
    if request.method == "GET":
        initial = {
            name: request.GET[name]
            for name in ("body_view", "map_x", "map_y", "body_site")
            if name in request.GET
        }
        form = NewLesionForm(initial=initial)
        markers = [
            body_map_marker(lesion, state=lesion.latest_state)
            for lesion in selectors.lesions_of(patient)
        ]
        return render(
            request,
            "lesions/lesion_form.html",
            {"form": form, "patient": patient, "markers": markers},
        )
    form = NewLesionForm(request.POST)
    if form.is_valid():
        try:
            lesion = services.create_lesion(
                patient=patient, created_by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Lesion “{lesion.label}” added. Upload its first image.")
            return redirect(lesion)
    return render_patient_page(request, patient, form, status=400)


@clinician_required
@require_http_methods(["GET"])
def lesion_detail(request: HttpRequest, lesion_pk: int) -> HttpResponse:
    lesion = selectors.get_lesion_for(request.user, lesion_pk)
    services.record_view(actor=request.user, target=lesion)
    return render_lesion_page(request, lesion, ImageUploadForm())


@clinician_required
@require_http_methods(["GET", "POST"])
def lesion_edit(request: HttpRequest, lesion_pk: int) -> HttpResponse:
    lesion = selectors.get_lesion_for(request.user, lesion_pk)
    form = LesionForm(request.POST or None, instance=lesion)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_lesion(lesion=lesion, changed_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Lesion saved.")
            return redirect(lesion)
    status = 400 if form.is_bound and form.errors else 200
    others = selectors.lesions_of(lesion.patient).exclude(pk=lesion.pk)
    return render(
        request,
        "lesions/lesion_form.html",
        {
            "form": form,
            "patient": lesion.patient,
            "lesion": lesion,
            # The patient's other lesions, for orientation while this one is moved.
            "markers": [body_map_marker(other, state=other.latest_state) for other in others],
        },
        status=status,
    )


@clinician_required
@require_http_methods(["GET", "POST"])
def lesion_delete(request: HttpRequest, lesion_pk: int) -> HttpResponse:
    lesion = selectors.get_lesion_for(request.user, lesion_pk)
    if request.method == "POST":
        services.delete_lesion(lesion=lesion, deleted_by=request.user)
        messages.success(request, f"Lesion “{lesion.label}” deleted.")
        return redirect(lesion.patient)
    return render(
        request,
        "lesions/confirm_delete.html",
        {
            "object": lesion,
            "kind": "lesion",
            "consequence": "All images of this lesion are deleted with it.",
            "cancel_url": lesion.get_absolute_url(),
        },
    )


@clinician_required
@require_http_methods(["GET"])
def lesion_compare(request: HttpRequest, lesion_pk: int) -> HttpResponse:
    """Two images of one lesion side by side; by default its first and its latest."""
    lesion = selectors.get_lesion_for(request.user, lesion_pk)
    images = list(lesion.images.in_capture_order())
    by_pk = {image.pk: image for image in images}
    data = request.GET if "before" in request.GET or "after" in request.GET else None
    if data is None and len(images) >= 2:
        data = {"before": images[0].pk, "after": images[-1].pk}
    form = CompareForm(data, images=images)
    if data is not None and not form.is_valid():
        # An id that is not an image of this lesion (perhaps of another clinic's): not found.
        raise Http404("No such image of this lesion.")
    comparison = (
        selectors.compare_images(
            by_pk[form.cleaned_data["before"]], by_pk[form.cleaned_data["after"]]
        )
        if data
        else None
    )
    pair = (comparison.earlier.image, comparison.later.image) if comparison else None
    return render(
        request,
        "lesions/lesion_compare.html",
        {
            "lesion": lesion,
            "patient": lesion.patient,
            "form": form,
            "pair": pair,
            "comparison": comparison,
            "interval_days": comparison.interval_days if comparison else None,
        },
    )


def lesion_page_context(lesion: Lesion) -> dict:
    """What the lesion page shows, and what a live result changes on it (``lesion_live``)."""
    follow_up = follow_up_context(lesion)
    visits = selectors.visit_rows(lesion, follow_up["changes"])
    latest_state = next(
        (v.analysis.result_state for v in visits if v.analysis and v.analysis.result_state), ""
    )
    return {
        "lesion": lesion,
        "patient": lesion.patient,
        "visits": visits,
        "markers": [body_map_marker(lesion, state=latest_state, link=False)],
        **follow_up,
    }


def render_lesion_page(
    request: HttpRequest, lesion: Lesion, upload_form: ImageUploadForm, status: int = 200
) -> HttpResponse:
    """The lesion page; also re-shown, with errors, when an upload is refused."""
    context = {**lesion_page_context(lesion), "upload_form": upload_form}
    return render(request, "lesions/lesion_detail.html", context, status=status)


@clinician_required
@require_http_methods(["GET"])
def lesion_live(request: HttpRequest, lesion_pk: int) -> JsonResponse:
    """Everything on the lesion page that a new result changes besides its card: each
    visit's summary line and change, the follow-up panel (next review, trend), the body-map
    marker and the status. The page asks once a polled result has arrived."""
    lesion = selectors.get_lesion_for(request.user, lesion_pk)
    context = lesion_page_context(lesion)

    def fragment(template: str, **extra: object) -> str:
        return render_to_string(template, {**context, **extra}, request=request)

    response = JsonResponse(
        {
            "visits": [
                {
                    "image": visit.image.pk,
                    "summary": fragment("lesions/includes/visit_summary.html", visit=visit),
                    "change": fragment("lesions/includes/visit_change.html", visit=visit),
                }
                for visit in context["visits"]
            ],
            "follow_up": fragment("lesions/includes/follow_up_panel.html"),
            "marker": context["markers"][0],
            "status": {"value": lesion.status, "label": lesion.get_status_display()},
        }
    )
    response["Cache-Control"] = "no-store"
    return response
