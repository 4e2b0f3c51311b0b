"""Staff re-run analyses from the admin: selected images, or all analysed by an older model."""

from __future__ import annotations

import pytest
from django.urls import reverse

from classifier.artifact import read_card
from lesions.models import Analysis, AnalysisStatus
from lesions.pipeline.inference import ServedModelInfo
from lesions.services.analyses import claim_analysis, complete_analysis
from lesions.tests.factories import ClinicianFactory, LesionImageFactory
from lesions.tests.pipeline_data import finish, heatmap_bytes, result_dict

pytestmark = pytest.mark.django_db


@pytest.fixture
def served_default(settings, model_artifact):
    """The workers serve a real artifact (no version active)."""
    settings.DERMASCAN_DEFAULT_MODEL = model_artifact
    return read_card(model_artifact).weights_sha256


def finish_with_model(image, sha256: str) -> Analysis:
    analysis = image.analyses.get(status="queued")
    claim = claim_analysis(analysis_pk=analysis.pk, task_id="t")
    complete_analysis(
        claim=claim,
        result=result_dict(),
        heatmap_jpeg=heatmap_bytes(),
        model=ServedModelInfo(model_version_id=None, model_id="m", sha256=sha256),
        inference_ms=1,
    )
    return Analysis.objects.get(pk=analysis.pk)


def test_staff_review_analyses_in_the_admin(staff_client, clinician):
    done = finish(LesionImageFactory(lesion__patient__clinic=clinician.clinic))

    changelist = staff_client.get(reverse("admin:lesions_analysis_changelist"))
    detail = staff_client.get(reverse("admin:lesions_analysis_change", args=[done.pk]))
    heatmap = staff_client.get(
        reverse("admin:lesions_analysis_heatmap", kwargs={"analysis_pk": done.pk})
    )

    assert changelist.status_code == 200 and b"Melanoma" in changelist.content
    assert detail.status_code == 200 and b"Refer to a dermatologist" in detail.content
    assert heatmap.status_code == 200 and heatmap["Content-Type"] == "image/jpeg"


def test_reanalyse_selected_images_from_the_image_list(staff_client, clinician):
    images = [LesionImageFactory(lesion__patient__clinic=clinician.clinic) for _ in range(3)]
    for image in images:
        finish(image)

    response = staff_client.post(
        reverse("admin:lesions_lesionimage_changelist"),
        {"action": "reanalyse_selected_images", "_selected_action": [images[0].pk, images[2].pk]},
        follow=True,
    )

    assert b"2 image(s) queued for analysis." in response.content
    queued = set(Analysis.objects.filter(status="queued").values_list("image_id", flat=True))
    assert queued == {images[0].pk, images[2].pk}
    assert Analysis.objects.filter(status="done").count() == 3  # earlier results are kept


def test_reanalyse_everything_analysed_by_an_older_model(staff_client, served_default):
    clinic = ClinicianFactory().clinic
    old, current, failed = (LesionImageFactory(lesion__patient__clinic=clinic) for _ in range(3))
    finish_with_model(old, "0" * 64)
    finish_with_model(current, served_default)
    failed_analysis = failed.analyses.get()
    claim_analysis(analysis_pk=failed_analysis.pk, task_id="t")
    Analysis.objects.filter(pk=failed_analysis.pk).update(
        status=AnalysisStatus.FAILED, failure_reason="x"
    )

    changelist = staff_client.get(reverse("admin:lesions_analysis_changelist"))
    assert b"Re-analyse images analysed by an older model" in changelist.content
    confirm = staff_client.get(reverse("admin:lesions_analysis_reanalyse_outdated"))
    assert b"Re-analyse 1 image analysed by an older model" in confirm.content
    older = staff_client.get(reverse("admin:lesions_analysis_changelist") + "?model=older")
    assert older.context["cl"].result_count == 1

    response = staff_client.post(reverse("admin:lesions_analysis_reanalyse_outdated"), follow=True)

    assert b"1 image(s) analysed by an older model queued" in response.content
    assert list(Analysis.objects.filter(status="queued").values_list("image_id", flat=True)) == [
        old.pk
    ]


def test_a_reviewer_without_the_permission_cannot_reanalyse(client, served_default):
    reviewer = ClinicianFactory(clinic=None, is_staff=True)
    client.force_login(reviewer)
    response = client.post(reverse("admin:lesions_analysis_reanalyse_outdated"))
    assert response.status_code == 403
