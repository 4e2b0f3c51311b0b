"""The model page: the served model's card, metrics and evaluation figures."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from classifier import selectors
from classifier.labels import display_name
from classifier.models import ModelVersion


@login_required
@require_GET
def model_card(request: HttpRequest, number: int | None = None) -> HttpResponse:
    version = get_object_or_404(ModelVersion, number=number) if number is not None else None
    page = selectors.model_page(version)
    return render(
        request,
        "classifier/model_card.html",
        {
            "page": page,
            "rows": _class_rows(page),
            "test": ((page.card.metrics or {}).get("test") or {}) if page.card else {},
            "versions": selectors.registered_versions()[:20],
            "sentence": selectors.operating_point_sentence(page.card),
            "external": _external_sets(page),
            "domain": _domain_rows(page),
        },
    )


@login_required
@require_GET
def model_figure(request: HttpRequest, name: str, number: int | None = None) -> FileResponse:
    version = get_object_or_404(ModelVersion, number=number) if number is not None else None
    page = selectors.model_page(version)
    path = selectors.figure_path(page.directory, name)
    if path is None:
        raise Http404("No such figure")
    # FileResponse closes the file when the response is done, so no context manager here.
    response = FileResponse(path.open("rb"), content_type="image/png")  # noqa: SIM115
    response["Cache-Control"] = "private, max-age=300"
    return response


def _class_rows(page: selectors.ModelPage) -> list[dict]:
    if page.card is None:
        return []
    test = (page.card.metrics or {}).get("test") or {}
    per_class = test.get("per_class", {})
    counts = ((page.card.training or {}).get("data") or {}).get("counts", {})
    return [
        {
            "code": code,
            "name": display_name(code),
            "metrics": per_class.get(code, {}),
            "train": counts.get("train", {}).get(code),
            "val": counts.get("val", {}).get(code),
            "test": counts.get("test", {}).get(code),
        }
        for code in page.card.classes
    ]


# The figures of an external evaluation (training.external) shown on the page, in order.
EXTERNAL_FIGURES = (
    ("melanoma_auc", "Melanoma AUC (melanoma probability as the score)"),
    ("sensitivity_at_specificity_80", "Melanoma sensitivity at specificity 0.80"),
    ("melanoma_high_or_moderate", "Melanomas rated High or Moderate"),
    ("nevus_high", "Nevi rated High (false alarms)"),
    ("nevus_low", "Nevi rated Low"),
    ("not_assessable", "Not assessable"),
    ("inconclusive", "Inconclusive"),
)
# The domain comparison's figures (training.domain) that the page shows; the card has all.
DOMAIN_FIGURES = (
    "brightness",
    "lab_mean_a",
    "lab_mean_b",
    "sharpness_log10",
    "dark_corners",
    "lesion_fraction",
)


def _external_sets(page: selectors.ModelPage) -> list[dict]:
    """One entry per external folder in the card, with HAM10000's melanoma-vs-nevus column."""
    metrics = (page.card.metrics or {}) if page.card else {}
    domain = metrics.get("domain_comparison") or {}
    sets = []
    for name, entry in (metrics.get("external") or {}).items():
        reference = (
            domain.get("reference_melanoma_vs_nevus") if domain.get("external") == name else None
        )
        rows = [
            {
                "label": label,
                "value": entry.get(key),
                "interval": (entry.get("intervals_95") or {}).get(key),
                "reference": (reference or {}).get(key),
                "reference_interval": ((reference or {}).get("intervals_95") or {}).get(key),
            }
            for key, label in EXTERNAL_FIGURES
        ]
        sets.append(
            {
                "name": name,
                "entry": entry,
                "rows": rows,
                "reference_name": domain.get("reference") if reference else "",
                "reference": reference,
            }
        )
    return sets


def _domain_rows(page: selectors.ModelPage) -> dict:
    metrics = (page.card.metrics or {}) if page.card else {}
    domain = metrics.get("domain_comparison") or {}
    if not domain:
        return {}
    figures = {row.get("key"): row for row in domain.get("figures") or []}
    rows = [figures[key] for key in DOMAIN_FIGURES if key in figures]
    gate = domain.get("gate_distance")
    if gate:
        rows.append({"label": "served gate: feature distance", **gate})
    return {
        "reference": domain.get("reference"),
        "external": domain.get("external"),
        "rows": rows,
        "vignetted": domain.get("vignetted_share") or {},
        "case_mix": domain.get("case_mix") or {},
        "gate": gate or {},
    }
