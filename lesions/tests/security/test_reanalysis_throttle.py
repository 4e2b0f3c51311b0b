"""Finding 4 (medium): ``POST /api/v1/images/{id}/analyses/`` 219 times in 15 s were all 202,
and one image gathered 166 analyses. Re-analysis is throttled per user and per image; each
202 says where to poll and when."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lesions.models import Analysis
from lesions.tests.api.conftest import assert_error, client_with_token, token_for
from lesions.tests.factories import ClinicianFactory, LesionImageFactory
from lesions.tests.images import jpeg_bytes
from lesions.tests.pipeline_data import finish

pytestmark = pytest.mark.django_db


def analyses_url(image) -> str:
    return reverse("api:image-analyses", kwargs={"image_pk": image.pk})


def test_one_image_gathers_no_more_analyses_than_its_rate(api, clinician, settings):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    colleague = client_with_token(token_for(ClinicianFactory(clinic=clinician.clinic)))
    answers = []
    for attempt in range(6):  # two users of the clinic, taking turns
        if image.analyses.filter(status="queued").exists():  # none pending to answer instead
            finish(image, task_id=f"task-{attempt}")
        answers.append((api if attempt % 2 else colleague).post(analyses_url(image)))
    assert [a.status_code for a in answers[:3]] == [202, 202, 202]  # 3/hour per image
    for answer in answers[3:]:
        assert_error(answer, 429, "throttled")
        assert int(answer["Retry-After"]) > 0
    assert Analysis.objects.filter(image=image).count() == 1 + 3


def test_one_user_gathers_no_more_analyses_than_their_rate(api, clinician, throttle_rates):
    throttle_rates(reanalysis="2/hour")
    images = [
        LesionImageFactory(lesion__patient__clinic=clinician.clinic, image_bytes=jpeg_bytes(seed=n))
        for n in range(3)
    ]
    for image in images:
        finish(image)
    codes = [api.post(analyses_url(image)).status_code for image in images]
    assert codes == [202, 202, 429]


def test_a_202_says_where_to_poll_and_when(api, clinician):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    finish(image)
    response = api.post(analyses_url(image))
    assert response.status_code == 202
    detail = reverse("api:analysis-detail", kwargs={"analysis_pk": response.json()["id"]})
    assert response["Location"] == detail and int(response["Retry-After"]) > 0


def test_reading_the_analyses_is_not_throttled(api, clinician, throttle_rates):
    throttle_rates(reanalysis="1/hour", reanalysis_image="1/hour")
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    assert all(api.get(analyses_url(image)).status_code == 200 for _ in range(5))
