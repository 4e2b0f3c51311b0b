"""The analysis parts of the lesion page: live status (JSON), result cards, heatmaps, retry."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from lesions import selectors, services

from .access import clinician_required
from .streaming import stream_heatmap

NOT_A_DIAGNOSTIC_DEVICE = (
    "Not a diagnostic device: decision support for clinicians, not a diagnosis."
)


@clinician_required
@require_http_methods(["GET"])
def lesion_analyses(request: HttpRequest, lesion_pk: int) -> JsonResponse:
    """What the page's poller asks every few seconds: each image's newest analysis status."""
    lesion = selectors.get_lesion_for(request.user, lesion_pk)
    entries = [
        {
            "image": entry.image.pk,
            "analysis": entry.analysis.pk,
            "status": entry.analysis.status,
            "card_url": reverse("lesions:analysis-card", kwargs={"analysis_pk": entry.analysis.pk}),
        }
        for entry in selectors.image_analyses(lesion)
        if entry.analysis is not None
    ]
    response = JsonResponse(
        {
            "analyses": entries,
            "pending": any(entry["status"] in ("queued", "running") for entry in entries),
            "notice": NOT_A_DIAGNOSTIC_DEVICE,
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@clinician_required
@require_http_methods(["GET"])
def analysis_card(request: HttpRequest, analysis_pk: int) -> HttpResponse:
    """The server-rendered result card alone (an HTML fragment the poller swaps in)."""
    analysis = selectors.get_analysis_for(request.user, analysis_pk)
    response = render(
        request,
        "lesions/includes/analysis_card.html",
        {"image": analysis.image, "analysis": analysis},
    )
    response["Cache-Control"] = "no-store"
    return response


@clinician_required
@require_http_methods(["GET"])
def analysis_heatmap(request: HttpRequest, analysis_pk: int) -> FileResponse:
    """The heatmap overlay. Shown inline on the (audited) lesion page, like the thumbnail."""
    analysis = selectors.get_analysis_for(request.user, analysis_pk)
    return stream_heatmap(analysis)


@clinician_required
@require_http_methods(["POST"])
def image_reanalyse(request: HttpRequest, image_pk: int) -> HttpResponse:
    """Retry a failed analysis or re-run a finished one; the earlier result is kept."""
    image = selectors.get_image_for(request.user, image_pk)
    if image.analyses.pending().exists():
        messages.info(request, "An analysis of this image is already under way.")
    else:
        services.request_analysis(image=image, requested_by=request.user)
        messages.success(request, "The image was queued for a new analysis.")
    return redirect(f"{image.lesion.get_absolute_url()}#analysis-image-{image.pk}")
