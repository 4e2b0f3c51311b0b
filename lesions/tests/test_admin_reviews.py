"""The admin's review list: read-only, with agreement per model version and per class."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lesions import services
from lesions.tests.engine import analyse_sample
from lesions.tests.factories import LesionFactory

pytestmark = pytest.mark.django_db


def test_agreement_per_model_and_class_counts_current_reviews_only(engine, clinician, staff_client):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    melanoma = analyse_sample(engine, lesion, "mel")
    naevus = analyse_sample(engine, lesion, "nv")
    base = {"reviewer": clinician, "basis": "clinical", "management": "short_term_recheck"}
    services.record_review(analysis=melanoma, agrees_with_model=True, **base)
    # Corrected later: only this second reading of the melanoma result counts.
    services.record_review(analysis=melanoma, agrees_with_model=False, diagnosis="nv", **base)
    services.record_review(analysis=naevus, agrees_with_model=True, **base)

    response = staff_client.get(reverse("admin:lesions_review_changelist"))
    assert response.status_code == 200
    agreement = response.context["agreement"]
    (model,) = agreement["by_model"]
    assert (model["reviews"], model["agreed"]) == (2, 1) and model["model"].endswith("(default)")
    by_class = {
        row["analysis__top_class"]: (row["reviews"], row["agreed"]) for row in agreement["by_class"]
    }
    assert by_class == {"mel": (1, 0), "nv": (1, 1)}
    html = response.content.decode()
    assert "Agreement with the model" in html and "50 %" in html


def test_reviews_cannot_be_added_changed_or_deleted_in_the_admin(engine, clinician, staff_client):
    analysis = analyse_sample(engine, LesionFactory(patient__clinic=clinician.clinic), "nv")
    review = services.record_review(
        analysis=analysis,
        reviewer=clinician,
        agrees_with_model=True,
        basis="clinical",
        management="monitor",
    )
    assert staff_client.get(reverse("admin:lesions_review_add")).status_code == 403
    url = reverse("admin:lesions_review_delete", args=[review.pk])
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
    change = staff_client.post(
        reverse("admin:lesions_review_change", args=[review.pk]), {"note": "x"}
    )
    assert change.status_code == 403
    review.refresh_from_db()
    assert review.note == ""
