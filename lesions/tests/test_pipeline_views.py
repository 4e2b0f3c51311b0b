"""The analysis parts of the lesion page: status JSON, result cards, heatmaps, retry."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lesions.models import Analysis, AnalysisStatus
from lesions.services.analyses import claim_analysis, fail_analysis
from lesions.tests.factories import LesionImageFactory
from lesions.tests.pipeline_data import finish

pytestmark = pytest.mark.django_db


@pytest.fixture
def image(clinician):
    return LesionImageFactory(lesion__patient__clinic=clinician.clinic, uploaded_by=clinician)


def card_url(analysis: Analysis) -> str:
    return reverse("lesions:analysis-card", kwargs={"analysis_pk": analysis.pk})


def test_lesion_page_shows_a_queued_analysis_and_polls_for_it(clinician_client, image):
    response = clinician_client.get(image.lesion.get_absolute_url())

    html = response.content.decode()
    assert 'data-analysis-status="queued"' in html
    assert "Waiting for the analysis to start" in html
    poll_url = reverse("lesions:lesion-analyses", kwargs={"lesion_pk": image.lesion.pk})
    assert f'data-analysis-poll="{poll_url}"' in html
    assert "js/analysis-status.js" in html


def test_status_json_lists_each_images_newest_analysis(clinician_client, image, clinician):
    done = finish(image)
    newer = LesionImageFactory(lesion=image.lesion, uploaded_by=clinician).analyses.get()
    url = reverse("lesions:lesion-analyses", kwargs={"lesion_pk": image.lesion.pk})

    data = clinician_client.get(url).json()

    assert data["pending"] is True
    assert "Not a diagnostic device" in data["notice"]
    by_image = {entry["image"]: entry for entry in data["analyses"]}
    assert by_image[image.pk] == {
        "image": image.pk,
        "analysis": done.pk,
        "status": "done",
        "card_url": card_url(done),
    }
    assert by_image[newer.image_id]["status"] == "queued"


def test_done_card_shows_the_whole_result(clinician_client, image):
    done = finish(image, top="mel", confidence=0.55, uncertain=False)

    html = clinician_client.get(card_url(done)).content.decode()

    assert 'data-analysis-status="done"' in html and 'data-result-state="high"' in html
    assert "Melanoma" in html and "55 % confidence" in html
    # The headline speaks for the card (a specialist clinic), not the engine's action text.
    assert "High risk" in html and "Melanoma probability 55 %" in html
    assert "excision biopsy to be considered" in html
    assert "Refer to a dermatologist within two weeks." not in html
    assert html.count('class="probabilities__bar"') == 7  # one bar per class
    assert 'style="width: 55.0%"' in html
    heatmap_url = reverse("lesions:analysis-heatmap", kwargs={"analysis_pk": done.pk})
    assert heatmap_url in html and "Show heatmap overlay" in html
    assert "test-model (default)" in html  # the model that produced it
    assert "Not a diagnostic device." in html
    assert "<html" not in html  # a fragment, for the poller to swap in


def test_confident_result_has_no_uncertainty_note(clinician_client, image):
    done = finish(image, confidence=0.9, uncertain=False)
    assert "Uncertain." not in clinician_client.get(card_url(done)).content.decode()


def test_heatmap_is_streamed_from_storage(clinician_client, image):
    done = finish(image)
    response = clinician_client.get(
        reverse("lesions:analysis-heatmap", kwargs={"analysis_pk": done.pk})
    )
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert response["Cache-Control"] == "no-store"  # health data: no cache keeps it


def test_failed_card_shows_the_reason_and_a_retry_button(clinician_client, image):
    analysis = image.analyses.get()
    claim_analysis(analysis_pk=analysis.pk, task_id="t")
    fail_analysis(analysis_pk=analysis.pk, reason="The stored file could not be read.")

    html = clinician_client.get(card_url(analysis)).content.decode()

    assert "The analysis failed." in html and "The stored file could not be read." in html
    retry = reverse("lesions:image-reanalyse", kwargs={"image_pk": image.pk})
    assert f'action="{retry}"' in html and "Retry analysis" in html


def test_retry_queues_a_new_analysis_and_keeps_the_failed_one(
    clinician_client, image, clinician, django_capture_on_commit_callbacks
):
    failed = image.analyses.get()
    claim_analysis(analysis_pk=failed.pk, task_id="t")
    fail_analysis(analysis_pk=failed.pk, reason="Worker lost.")

    with django_capture_on_commit_callbacks() as callbacks:
        response = clinician_client.post(
            reverse("lesions:image-reanalyse", kwargs={"image_pk": image.pk})
        )

    assert response.status_code == 302
    assert response["Location"].endswith(f"#analysis-image-{image.pk}")
    # The task is sent after the commit (and the clinic's worklist counts forgotten again).
    assert len(callbacks) == 2
    statuses = list(image.analyses.order_by("pk").values_list("status", "requested_by"))
    assert statuses == [("failed", clinician.pk), ("queued", clinician.pk)]
    page = clinician_client.get(image.lesion.get_absolute_url()).content.decode()
    assert 'data-analysis-status="queued"' in page  # the page shows the newest


def test_retry_while_an_analysis_is_pending_adds_nothing(clinician_client, image):
    response = clinician_client.post(
        reverse("lesions:image-reanalyse", kwargs={"image_pk": image.pk}), follow=True
    )
    assert "already under way" in response.content.decode()
    assert image.analyses.count() == 1


def test_status_json_needs_get_and_login(client, image):
    url = reverse("lesions:lesion-analyses", kwargs={"lesion_pk": image.lesion.pk})
    assert client.get(url).status_code == 302


def test_other_clinics_analysis_is_not_found(image, other_clinician, client):
    done = finish(image)
    client.force_login(other_clinician)
    for name in ("lesions:analysis-card", "lesions:analysis-heatmap"):
        assert client.get(reverse(name, kwargs={"analysis_pk": done.pk})).status_code == 404
    retry = reverse("lesions:image-reanalyse", kwargs={"image_pk": image.pk})
    assert client.post(retry).status_code == 404
    assert Analysis.objects.filter(status=AnalysisStatus.QUEUED).count() == 0
