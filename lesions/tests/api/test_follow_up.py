"""Follow-up through the API, on results of the real engine on real images: the evolving
flag and next-review dates on lesions and patients, setting a date, and the worklist."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from lesions.follow_up.changes import LONG_INTERVAL
from lesions.models import AuditAction, AuditEvent, Lesion
from lesions.services.analyses import fail_analysis
from lesions.tests.api.conftest import assert_error, client_with_token, token_for
from lesions.tests.engine import analyse_sample
from lesions.tests.factories import LesionFactory, LesionImageFactory, days_ago

pytestmark = pytest.mark.django_db

AGREE = {"agrees_with_model": True, "basis": "clinical", "management": "monitor"}


@pytest.fixture
def evolving_lesion(engine, clinician):
    """Naevus (Low) in May, melanoma (High) in November: evolving by every rule."""
    lesion = LesionFactory(patient__clinic=clinician.clinic, label="Left calf mole")
    analyse_sample(engine, lesion, "nv", captured_on=datetime.date(2026, 5, 12))
    analyse_sample(engine, lesion, "mel", captured_on=datetime.date(2026, 11, 29))
    lesion.refresh_from_db()
    return lesion


def lesion_url(lesion) -> str:
    return reverse("api:lesion-detail", kwargs={"lesion_pk": lesion.pk})


def next_review_url(lesion) -> str:
    return reverse("api:lesion-next-review", kwargs={"lesion_pk": lesion.pk})


def patient_url(patient) -> str:
    return reverse("api:patient-detail", kwargs={"patient_pk": patient.pk})


# --- the evolving flag and next-review dates ---------------------------------------------


def test_lesion_shows_the_evolving_flag_its_reason_and_next_review(api, evolving_lesion):
    body = api.get(lesion_url(evolving_lesion)).json()
    assert body["evolving"] is True
    assert "malignant probability 0.01 → 0.56" in body["evolving_reason"]
    assert body["evolving_reason"].endswith("between 12 May 2026 and 29 Nov 2026")
    assert body["evolving_since"] is not None
    assert body["next_review_on"] == evolving_lesion.next_review_on.isoformat()
    assert body["next_review_reason"] == "Evolving"
    assert body["image_count"] == 2

    listed = reverse("api:patient-lesions", kwargs={"patient_pk": evolving_lesion.patient_id})
    LesionFactory(patient=evolving_lesion.patient, label="Quiet one")
    rows = api.get(listed, {"evolving": "true"}).json()["results"]
    assert [row["id"] for row in rows] == [evolving_lesion.pk]
    assert rows[0]["evolving_reason"] == body["evolving_reason"]
    assert api.get(listed, {"evolving": "false"}).json()["count"] == 1
    due = api.get(listed, {"next_review_before": timezone.localdate().isoformat()}).json()
    assert [row["id"] for row in due["results"]] == [evolving_lesion.pk]


def test_patient_shows_its_evolving_lesions_and_next_visit(api, evolving_lesion):
    patient = evolving_lesion.patient
    later = days_ago(-30)
    LesionFactory(patient=patient, next_review_on=later)
    LesionFactory(patient=patient, status="excised", evolving=True, next_review_on=days_ago(9))
    expected = {"evolving_count": 1, "next_visit_on": evolving_lesion.next_review_on.isoformat()}
    detail = api.get(patient_url(patient)).json()
    assert {key: detail[key] for key in expected} == expected
    row = api.get(reverse("api:patient-list")).json()["results"][0]
    assert {key: row[key] for key in expected} == expected


def test_clinician_sets_and_clears_the_next_review_date(api, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    response = api.put(next_review_url(lesion), {"next_review_on": "2027-01-15"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["next_review_on"]) == (lesion.pk, "2027-01-15")
    assert body["next_review_reason"] == "Set by a clinician"
    lesion.refresh_from_db()
    assert lesion.next_review_on == datetime.date(2027, 1, 15)
    event = AuditEvent.objects.get(target_id=lesion.pk, action=AuditAction.CHANGED)
    assert (event.changed_fields, event.actor, event.device) == (
        ["next_review_on"],
        clinician,
        "Ames iPhone",
    )
    assert api.get(patient_url(lesion.patient)).json()["next_visit_on"] == "2027-01-15"

    cleared = api.put(next_review_url(lesion), {"next_review_on": None}).json()
    assert cleared["next_review_on"] is None and cleared["next_review_set_by_hand"] is True
    assert cleared["next_review_reason"] == "No further review, set by a clinician"
    assert Lesion.objects.get(pk=lesion.pk).next_review_on is None


def test_a_date_set_by_hand_is_kept_until_the_suggestion_is_taken(api, engine, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    chosen = timezone.localdate() + datetime.timedelta(days=20)
    api.put(next_review_url(lesion), {"next_review_on": chosen.isoformat()})
    analyse_sample(engine, lesion, "nv", captured_on=days_ago(2))  # suggests 12 months
    body = api.get(lesion_url(lesion)).json()
    assert (body["next_review_on"], body["next_review_set_by_hand"]) == (chosen.isoformat(), True)
    assert body["suggested_review_on"] == (days_ago(2) + LONG_INTERVAL).isoformat()
    taken = api.put(next_review_url(lesion), {"use_suggestion": True}).json()
    assert taken["next_review_on"] == body["suggested_review_on"]
    assert taken["next_review_set_by_hand"] is False


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"next_review_on": "next week"},
        {"next_review_on": "2027-02-30"},
        {"next_review_on": days_ago(1).isoformat()},  # in the past
    ],
)
def test_a_bad_next_review_date_is_refused(api, clinician, body):
    lesion = LesionFactory(patient__clinic=clinician.clinic, next_review_on=days_ago(-10))
    assert_error(api.put(next_review_url(lesion), body), 400, fields=["next_review_on"])
    assert Lesion.objects.get(pk=lesion.pk).next_review_on == days_ago(-10)
    assert not AuditEvent.objects.filter(action=AuditAction.CHANGED).exists()


def test_next_review_of_another_clinics_lesion_is_404_and_unchanged(other_api, client, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    body = {"next_review_on": "2030-01-01"}
    assert_error(other_api.put(next_review_url(lesion), body), 404, "not_found")
    assert_error(client.put(next_review_url(lesion), body), 401, "not_authenticated")
    assert Lesion.objects.get(pk=lesion.pk).next_review_on is None
    assert other_api.get(next_review_url(lesion)).status_code == 405  # read it on the lesion


# --- the worklist -------------------------------------------------------------------------


def worklist(api) -> dict[str, dict]:
    response = api.get(reverse("api:worklist"))
    assert response.status_code == 200, response.content
    return {section["key"]: section for section in response.json()["sections"]}


def test_worklist_has_the_home_pages_sections_and_rows(api, evolving_lesion):
    sections = worklist(api)
    assert list(sections) == ["review", "evolving", "due", "failed"]
    assert sections["review"]["title"] == "Results waiting for review"
    assert {key: s["count"] for key, s in sections.items()} == {
        "review": 2,
        "evolving": 1,
        "due": 1,
        "failed": 0,
    }
    melanoma, naevus = sections["review"]["rows"]  # High before Low
    assert (melanoma["result_state"], naevus["result_state"]) == ("high", "low")
    analysis = evolving_lesion.images.get(captured_on=datetime.date(2026, 11, 29)).analyses.get()
    assert (melanoma["analysis"], melanoma["image"]) == (analysis.pk, analysis.image_id)
    assert melanoma["top_class_display"] == "Melanoma" and melanoma["evolving"] is True
    assert melanoma["lesion"] == {"id": evolving_lesion.pk, "label": "Left calf mole"}
    patient = evolving_lesion.patient
    assert melanoma["patient"]["id"] == patient.pk
    assert melanoma["patient"]["medical_record_number"] == patient.medical_record_number
    assert melanoma["date"] == timezone.localdate(analysis.finished_at).isoformat()
    (evolving,) = sections["evolving"]["rows"]
    assert evolving["reason"] == evolving_lesion.evolving_reason and evolving["analysis"] is None
    assert evolving["result_state"] == "high"
    (due,) = sections["due"]["rows"]
    assert (due["date"], due["reason"]) == (evolving_lesion.next_review_on.isoformat(), "Evolving")


def test_a_review_takes_the_result_off_the_worklist(api, evolving_lesion):
    analysis = evolving_lesion.images.get(captured_on=datetime.date(2026, 11, 29)).analyses.get()
    reviews = reverse("api:analysis-reviews", kwargs={"analysis_pk": analysis.pk})
    assert api.post(reviews, {**AGREE, "management": "excise"}).status_code == 201
    sections = worklist(api)
    assert sections["review"]["count"] == 1 and sections["evolving"]["count"] == 0
    assert [row["result_state"] for row in sections["review"]["rows"]] == ["low"]


def test_failed_analyses_are_listed_with_their_reason(api, clinician):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    assert fail_analysis(analysis_pk=image.analyses.get().pk, reason="The image is unreadable.")
    (row,) = worklist(api)["failed"]["rows"]
    assert (row["image"], row["reason"], row["result_state"]) == (
        image.pk,
        "The image is unreadable.",
        None,
    )


def test_worklist_shows_nothing_of_another_clinic(other_api, client, staff, evolving_lesion):
    response = other_api.get(reverse("api:worklist"))
    assert all(section["count"] == 0 for section in response.json()["sections"])
    assert b"Left calf mole" not in response.content
    assert evolving_lesion.patient.medical_record_number.encode() not in response.content
    assert_error(client.get(reverse("api:worklist")), 401, "not_authenticated")
    staff_api = client_with_token(token_for(staff))
    assert_error(staff_api.get(reverse("api:worklist")), 403, "permission_denied")


def test_worklist_queries_do_not_grow_with_rows(
    engine, api, clinician, django_assert_max_num_queries
):
    def add_rows():
        lesion = LesionFactory(patient__clinic=clinician.clinic)
        analyse_sample(engine, lesion, "nv", captured_on=days_ago(400))
        analyse_sample(engine, lesion, "mel", captured_on=days_ago(2))
        failed = LesionImageFactory(lesion=lesion)
        fail_analysis(analysis_pk=failed.analyses.get().pk, reason="Lost.")

    add_rows()
    # Token (1 + last use) and one query per section.
    with django_assert_max_num_queries(6) as few:
        api.get(reverse("api:worklist"))
    for _ in range(3):
        add_rows()
    with django_assert_max_num_queries(len(few.captured_queries)):
        sections = worklist(api)
    counts = {key: section["count"] for key, section in sections.items()}
    assert counts == {"review": 8, "evolving": 4, "due": 4, "failed": 4}
