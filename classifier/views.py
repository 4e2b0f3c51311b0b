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
