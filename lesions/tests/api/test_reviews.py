"""Reviews through the API: recording one (the review service), an analysis's reviews with
what superseded what, the clinic's reviews, and the current review on analyses."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lesions.models import AuditAction, AuditEvent, Review
from lesions.tests.api.conftest import assert_error
from lesions.tests.factories import LesionFactory, LesionImageFactory, days_ago
from lesions.tests.images import jpeg_bytes
from lesions.tests.pipeline_data import finish

pytestmark = pytest.mark.django_db

AGREE = {"agrees_with_model": True, "basis": "clinical", "management": "monitor"}


@pytest.fixture
def analysis(clinician):
    """A finished result (melanoma, uncertain) of the clinician's clinic."""
    return finish(LesionImageFactory(lesion__patient__clinic=clinician.clinic))


def reviews_of(analysis) -> str:
    return reverse("api:analysis-reviews", kwargs={"analysis_pk": analysis.pk})


def test_agreeing_records_the_models_class_with_the_reviewer_and_device(api, clinician, analysis):
    response = api.post(reviews_of(analysis), {**AGREE, "note": "  Irregular network. "})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["analysis"] == analysis.pk and body["agrees_with_model"] is True
    assert (body["diagnosis"], body["diagnosis_display"]) == ("mel", "Melanoma")
    assert body["reviewer"] == {
        "id": clinician.pk,
        "username": clinician.username,
        "full_name": clinician.get_full_name(),
    }
    assert body["note"] == "Irregular network."
    assert body["supersedes"] is None and body["superseded_by"] is None and body["current"]
    event = AuditEvent.objects.get(target_type="review", action=AuditAction.CREATED)
    assert (event.target_id, event.actor, event.device) == (body["id"], clinician, "Ames iPhone")


def test_a_new_review_supersedes_the_current_one_and_both_are_listed(api, analysis):
    first = api.post(reviews_of(analysis), AGREE).json()
    second = api.post(
        reviews_of(analysis),
        {**AGREE, "agrees_with_model": False, "diagnosis": "nv", "management": "discharge"},
    ).json()
    assert second["supersedes"] == first["id"] and second["agrees_with_model"] is False
    listed = api.get(reviews_of(analysis)).json()
    assert listed["count"] == 2
    newest, oldest = listed["results"]
    assert (newest["id"], newest["current"], newest["superseded_by"]) == (second["id"], True, None)
    assert (oldest["id"], oldest["current"], oldest["superseded_by"]) == (
        first["id"],
        False,
        second["id"],
    )
    assert Review.objects.count() == 2


def test_histopathology_sets_the_lesions_confirmed_diagnosis(api, analysis):
    body = {**AGREE, "agrees_with_model": False, "diagnosis": "bcc", "basis": "histopathology"}
    assert api.post(reviews_of(analysis), body).status_code == 201
    lesion = api.get(reverse("api:lesion-detail", kwargs={"lesion_pk": analysis.image.lesion_id}))
    assert lesion.json()["confirmed_diagnosis"] == "bcc"


def test_another_diagnosis_the_model_does_not_know(api, analysis):
    body = {**AGREE, "agrees_with_model": False, "diagnosis": "other"}
    response = api.post(reviews_of(analysis), {**body, "diagnosis_other": " Solar lentigo "})
    assert response.status_code == 201, response.content
    assert response.json()["diagnosis_display"] == "Solar lentigo"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"agrees_with_model": False}, "diagnosis"),  # disagreeing needs a diagnosis
        ({"agrees_with_model": False, "diagnosis": "other"}, "diagnosis_other"),
        (
            {"agrees_with_model": False, "diagnosis": "other", "diagnosis_other": "  "},
            "diagnosis_other",
        ),
        ({"diagnosis": "wart", "agrees_with_model": False}, "diagnosis"),
        ({"basis": "hunch"}, "basis"),
        ({"management": None}, "management"),
        ({"agrees_with_model": "perhaps"}, "agrees_with_model"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(api, analysis, change, field):
    events = AuditEvent.objects.count()
    error = assert_error(api.post(reviews_of(analysis), {**AGREE, **change}), 400, fields=[field])
    assert error["code"] in ("invalid", "invalid_choice", "required", "null")
    assert not Review.objects.exists() and AuditEvent.objects.count() == events


def test_a_missing_field_is_refused(api, analysis):
    assert_error(
        api.post(reviews_of(analysis), {"agrees_with_model": True}),
        400,
        fields=["basis", "management"],
    )


def test_a_queued_analysis_cannot_be_reviewed(api, clinician):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    error = assert_error(api.post(reviews_of(image.analyses.get()), AGREE), 400, "not_done")
    assert error["message"] == "Only a finished analysis can be reviewed."
    assert error["fields"] == {"non_field_errors": [error["message"]]}
    assert not Review.objects.exists()


def test_another_clinics_analysis_is_404_and_not_reviewed(other_api, analysis):
    assert_error(other_api.get(reviews_of(analysis)), 404, "not_found")
    assert_error(other_api.post(reviews_of(analysis), AGREE), 404, "not_found")
    assert not Review.objects.exists()


def test_no_token_is_401(client, analysis):
    assert_error(client.get(reviews_of(analysis)), 401, "not_authenticated")
    assert_error(client.post(reviews_of(analysis), AGREE, content_type="application/json"), 401)
    assert_error(client.get(reverse("api:review-list")), 401, "not_authenticated")


def test_staff_token_holder_without_clinic_gets_403(staff, analysis):
    from lesions.tests.api.conftest import client_with_token, token_for

    staff_api = client_with_token(token_for(staff))
    assert_error(staff_api.post(reviews_of(analysis), AGREE), 403, "permission_denied")
    assert_error(staff_api.get(reverse("api:review-list")), 403, "permission_denied")


# --- the current review on analyses and the lesion's history ------------------------------


def test_analysis_detail_list_and_history_show_the_current_review(api, analysis):
    assert (
        api.get(reverse("api:analysis-detail", kwargs={"analysis_pk": analysis.pk})).json()[
            "current_review"
        ]
        is None
    )
    api.post(reviews_of(analysis), AGREE)
    second = api.post(reviews_of(analysis), {**AGREE, "management": "excise"}).json()
    detail = api.get(reverse("api:analysis-detail", kwargs={"analysis_pk": analysis.pk})).json()
    assert detail["current_review"]["id"] == second["id"]
    assert detail["current_review"]["management"] == "excise"
    listed = api.get(reverse("api:image-analyses", kwargs={"image_pk": analysis.image_id}))
    assert listed.json()["results"][0]["current_review"]["id"] == second["id"]
    history = api.get(
        reverse("api:lesion-history", kwargs={"lesion_pk": analysis.image.lesion_id})
    ).json()["results"]
    assert history[0]["analysis"]["current_review"]["id"] == second["id"]


def test_a_review_changes_the_analysis_etag(api, analysis):
    url = reverse("api:analysis-detail", kwargs={"analysis_pk": analysis.pk})
    etag = api.get(url)["ETag"]
    assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    api.post(reviews_of(analysis), AGREE)
    changed = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed.json()["current_review"]["current"] is True


@pytest.mark.parametrize("rows", [1, 20])
def test_image_analyses_with_reviews_cost_the_same_queries(
    api, clinician, rows, django_assert_max_num_queries, throttle_rates
):
    throttle_rates(reanalysis="1000/min", reanalysis_image="1000/min")  # many on purpose
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    for number in range(rows):
        analysis = finish(image, task_id=f"task-{number}")
        api.post(reviews_of(analysis), AGREE)
        api.post(reviews_of(analysis), {**AGREE, "management": "excise"})  # supersedes
        api.post(reverse("api:image-analyses", kwargs={"image_pk": image.pk}))  # queue another
    # Token (1 + last use), image, count, page of analyses, their reviews.
    with django_assert_max_num_queries(6):
        response = api.get(reverse("api:image-analyses", kwargs={"image_pk": image.pk}))
    reviewed = [a for a in response.json()["results"] if a["current_review"]]
    assert len(reviewed) == rows


# --- the clinic's reviews -----------------------------------------------------------------


def test_clinic_reviews_are_listed_newest_first_and_filtered(api, clinician, other_clinician):
    first = finish(LesionImageFactory(lesion__patient__clinic=clinician.clinic))
    second_lesion = LesionFactory(patient__clinic=clinician.clinic)
    second = finish(LesionImageFactory(lesion=second_lesion, image_bytes=jpeg_bytes(seed=5)))
    api.post(reviews_of(first), AGREE)
    replaced = api.post(reviews_of(first), {**AGREE, "management": "refer"}).json()
    other = {**AGREE, "agrees_with_model": False, "diagnosis": "nv", "basis": "histopathology"}
    latest = api.post(reviews_of(second), other).json()
    # Another clinic's review is never listed.
    finish(LesionImageFactory(lesion__patient__clinic=other_clinician.clinic))
    Review.objects.create(
        analysis=Review.analysis.field.related_model.objects.exclude(
            image__lesion__patient__clinic=clinician.clinic
        ).get(),
        reviewer=other_clinician,
        agrees_with_model=True,
        diagnosis="mel",
        basis="clinical",
        management="monitor",
    )
    url = reverse("api:review-list")
    body = api.get(url).json()
    assert body["count"] == 3
    assert [r["id"] for r in body["results"]][:2] == [latest["id"], replaced["id"]]
    row = body["results"][0]
    assert (row["patient"], row["lesion"], row["image"]) == (
        second_lesion.patient_id,
        second_lesion.pk,
        second.image_id,
    )

    def ids(**query) -> list[int]:
        return [r["id"] for r in api.get(url, query).json()["results"]]

    assert ids(current="true") == [latest["id"], replaced["id"]]
    assert len(ids(current="false")) == 1
    assert ids(lesion=second_lesion.pk) == [latest["id"]]
    assert ids(patient=second_lesion.patient_id) == [latest["id"]]
    assert ids(analysis=first.pk, management="refer") == [replaced["id"]]
    assert ids(basis="histopathology", agrees_with_model="false") == [latest["id"]]
    assert ids(reviewer=other_clinician.pk) == []
    assert ids(reviewed_after=days_ago(-1).isoformat()) == []
    assert len(ids(reviewed_before=days_ago(-1).isoformat())) == 3
    assert_error(api.get(url, {"diagnosis": "wart"}), 400, fields=["diagnosis"])


@pytest.mark.parametrize("rows", [1, 30])
def test_clinic_reviews_cost_the_same_queries(api, clinician, rows, django_assert_max_num_queries):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    for seed in range(rows):
        analysis = finish(LesionImageFactory(lesion=lesion, image_bytes=jpeg_bytes(seed=seed)))
        api.post(reviews_of(analysis), AGREE)
    with django_assert_max_num_queries(5):  # token (1 + last use), count, page
        response = api.get(reverse("api:review-list"), {"page_size": 100})
    assert response.json()["count"] == rows


def test_agreeing_with_a_high_result_and_monitoring_needs_a_reason(api, clinician):
    high = finish(
        LesionImageFactory(lesion__patient__clinic=clinician.clinic), top="mel", uncertain=False
    )
    assert high.result_state == "high"
    error = assert_error(api.post(reviews_of(high), AGREE), 400, fields=["note"])
    assert "write the reason in the note" in " ".join(error["fields"]["note"])
    assert not Review.objects.exists()
    referred = api.post(reviews_of(high), {**AGREE, "management": "refer"})
    assert referred.status_code == 201
    high.image.lesion.refresh_from_db()
    assert high.image.lesion.status == "referred"
