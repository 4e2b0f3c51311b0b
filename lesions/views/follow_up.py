"""Follow-up pages: the worklist (home), reviewing a result, next-review dates, the report."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from lesions import selectors, services
from lesions.follow_up import reports, worklist
from lesions.follow_up.charts import trend_chart
from lesions.forms import REVIEW_NOTE_HELP, NextReviewForm, ReviewForm, add_service_errors
from lesions.models import Lesion, ManagementDecision, ReviewBasis, ReviewDiagnosis

from .access import clinician_required


@login_required
@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    """Clinicians start at their clinic's worklist; staff without a clinic at the admin."""
    if request.user.is_staff and not request.user.is_clinician:
        return redirect("admin:index")
    return _worklist(request)


@clinician_required
def _worklist(request: HttpRequest) -> HttpResponse:
    return render(
        request, "lesions/worklist.html", {"sections": worklist.worklist_for(request.user)}
    )


@clinician_required
@require_http_methods(["GET", "POST"])
def analysis_review(request: HttpRequest, analysis_pk: int) -> HttpResponse:
    """Sign off a result. The lesion page's review panel posts here; errors are shown here."""
    analysis = selectors.get_analysis_for(request.user, analysis_pk)
    lesion = selectors.get_lesion_for(request.user, analysis.image.lesion_id)
    form = ReviewForm(request.POST or None, result_state=analysis.result_state)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_review(analysis=analysis, reviewer=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Review recorded.")
            return redirect(f"{lesion.get_absolute_url()}#analysis-image-{analysis.image_id}")
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "lesions/analysis_review.html",
        {
            "analysis": analysis,
            "image": analysis.image,
            "lesion": lesion,
            "patient": lesion.patient,
            "form": form,
            "reviews": selectors.reviews_of(analysis),
        },
        status=status,
    )


@clinician_required
@require_http_methods(["GET"])
def analysis_review_panel(request: HttpRequest, analysis_pk: int) -> HttpResponse:
    """The review panel alone (an HTML fragment): the lesion page swaps it in once the
    result it belongs to has arrived."""
    analysis = selectors.get_analysis_for(request.user, analysis_pk)
    lesion = selectors.get_lesion_for(request.user, analysis.image.lesion_id)
    context = follow_up_context(lesion)
    response = render(
        request,
        "lesions/includes/review_panel.html",
        {
            "image": analysis.image,
            "analysis": selectors.get_analysis_with_reviews(analysis.pk),
            "changes": context["changes"],
            "review_choices": context["review_choices"],
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@clinician_required
@require_http_methods(["POST"])
def lesion_next_review(request: HttpRequest, lesion_pk: int) -> HttpResponse:
    """Save the clinician's own date, or ("use_suggestion") go back to the suggested one."""
    lesion = selectors.get_lesion_for(request.user, lesion_pk)
    if "use_suggestion" in request.POST:
        services.use_suggested_review(lesion=lesion, changed_by=request.user)
        messages.success(request, "Next review follows the suggestion again.")
        return redirect(lesion)
    form = NextReviewForm(request.POST)
    if form.is_valid():
        try:
            services.set_next_review(
                lesion=lesion,
                next_review_on=form.cleaned_data["next_review_on"],
                changed_by=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error, default_field="next_review_on")
    if form.errors:
        messages.error(request, "Next review: " + " ".join(form.errors["next_review_on"]))
    else:
        messages.success(request, "Next review date saved.")
    return redirect(lesion)


@clinician_required
@require_http_methods(["GET"])
def patient_report(request: HttpRequest, patient_pk: int) -> HttpResponse:
    """The printable report (the browser's print uses its print stylesheet)."""
    patient = selectors.get_patient_for(request.user, patient_pk)
    services.record_report(actor=request.user, patient=patient)
    report = reports.build_report(patient, generated_by=request.user)
    return render(request, "lesions/patient_report.html", {"report": report, "standalone": False})


@clinician_required
@require_http_methods(["GET"])
def patient_report_pdf(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = selectors.get_patient_for(request.user, patient_pk)
    services.record_report(actor=request.user, patient=patient)
    pdf = reports.report_pdf(patient, generated_by=request.user, request=request)
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = reports.report_filename(patient)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # health data: never kept by a shared cache
    return response


def follow_up_context(lesion: Lesion) -> dict:
    """What the lesion page adds for follow-up: the trend chart, each visit's change since
    the previous one, the next-review form and the review panel's choices."""
    return {
        "trend": trend_chart(selectors.lesion_visits(lesion)),
        "changes": selectors.lesion_changes(lesion),
        "next_review_form": NextReviewForm(initial={"next_review_on": lesion.next_review_on}),
        "review_choices": {
            "diagnosis": ReviewDiagnosis.choices,
            "basis": ReviewBasis.choices,
            "management": ManagementDecision.choices,
            "note_help": REVIEW_NOTE_HELP,
        },
    }
