import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from lesions.models import Lesion
from lesions.tests.factories import LesionFactory, LesionImageFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(clinician):
    return PatientFactory(clinic=clinician.clinic)


def lesion_data(**overrides):
    return {
        "label": "New mole",
        "body_site": "chest",
        "body_view": "front",
        "map_x": "0.52",
        "map_y": "0.31",
        "first_noted_on": timezone.localdate().isoformat(),
        **overrides,
    }


def create_url(patient):
    return reverse("lesions:lesion-create", kwargs={"patient_pk": patient.pk})


def test_body_map_post_creates_a_lesion_and_opens_it(clinician_client, patient):
    response = clinician_client.post(create_url(patient), lesion_data())
    lesion = Lesion.objects.get()
    assert response.status_code == 302
    assert response["Location"] == lesion.get_absolute_url()
    assert (lesion.patient, lesion.body_view, lesion.map_x, lesion.map_y) == (
        patient,
        "front",
        0.52,
        0.31,
    )


@pytest.mark.parametrize(("field", "value"), [("map_x", "1.2"), ("map_y", "-0.1")])
def test_coordinates_outside_0_1_are_form_errors(clinician_client, patient, field, value):
    response = clinician_client.post(create_url(patient), lesion_data(**{field: value}))
    assert response.status_code == 400
    assert field in response.context["new_lesion_form"].errors
    assert not Lesion.objects.exists()
    # The patient page is shown again with the body map, and the error beside the field.
    assert b"data-body-map" in response.content
    assert b"Ensure this value is" in response.content


def test_missing_label_and_future_date_are_form_errors(clinician_client, patient):
    future = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    response = clinician_client.post(
        create_url(patient), lesion_data(label="", first_noted_on=future)
    )
    errors = response.context["new_lesion_form"].errors
    assert response.status_code == 400
    assert set(errors) == {"label", "first_noted_on"}


def test_create_form_without_javascript_is_prefilled_from_the_query(clinician_client, patient):
    response = clinician_client.get(
        create_url(patient), {"body_view": "back", "map_x": "0.4", "map_y": "0.2"}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial == {"body_view": "back", "map_x": "0.4", "map_y": "0.2"}


def test_lesion_page_shows_one_row_per_visit_newest_first_with_its_own_result(
    clinician_client, clinician
):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    today = timezone.localdate()
    later = LesionImageFactory(lesion=lesion, captured_on=today - datetime.timedelta(days=10))
    earlier = LesionImageFactory(lesion=lesion, captured_on=today - datetime.timedelta(days=40))
    response = clinician_client.get(lesion.get_absolute_url())
    assert response.status_code == 200
    visits = response.context["visits"]
    assert [visit.image for visit in visits] == [later, earlier]
    assert [visit.days_since_previous for visit in visits] == [30, None]
    assert [visit.analysis.image for visit in visits] == [later, earlier]
    content = response.content.decode()
    newest = content.index(f'<details class="visit" id="image-{later.pk}" open')
    older = content.index(f'<details class="visit" id="image-{earlier.pk}" data-visit')
    assert newest < older  # newest first; the older visit is folded
    # Each row holds its own image's result card.
    assert newest < content.index(f'data-analysis-image="{later.pk}"') < older
    assert older < content.index(f'data-analysis-image="{earlier.pk}"')
    assert "30 days after the previous visit" in content and "First visit" in content
    assert 'enctype="multipart/form-data"' in content
    assert "/media/" not in content


def test_edit_lesion_status_and_position(clinician_client, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    url = reverse("lesions:lesion-edit", kwargs={"lesion_pk": lesion.pk})
    data = lesion_data(label=lesion.label, status="excised", map_x="0.1")
    response = clinician_client.post(url, data)
    assert response.status_code == 302
    lesion.refresh_from_db()
    assert (lesion.status, lesion.map_x) == ("excised", 0.1)
    refused = clinician_client.post(url, lesion_data(status="excised", map_x="3"))
    assert refused.status_code == 400
    lesion.refresh_from_db()
    assert lesion.map_x == 0.1


def test_delete_lesion(clinician_client, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    url = reverse("lesions:lesion-delete", kwargs={"lesion_pk": lesion.pk})
    assert clinician_client.get(url).status_code == 200
    response = clinician_client.post(url)
    assert response["Location"] == lesion.patient.get_absolute_url()
    assert not Lesion.objects.exists()


def test_compare_defaults_to_first_and_latest_image(clinician_client, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    today = timezone.localdate()
    first = LesionImageFactory(lesion=lesion, captured_on=today - datetime.timedelta(days=90))
    LesionImageFactory(lesion=lesion, captured_on=today - datetime.timedelta(days=45))
    latest = LesionImageFactory(lesion=lesion, captured_on=today)
    url = reverse("lesions:lesion-compare", kwargs={"lesion_pk": lesion.pk})
    response = clinician_client.get(url)
    assert response.status_code == 200
    assert response.context["pair"] == (first, latest)
    assert b"<strong>3 months</strong> apart (90 days)" in response.content
    chosen = clinician_client.get(url, {"before": first.pk, "after": first.pk})
    assert chosen.context["pair"] == (first, first)


def test_compare_refuses_an_image_of_another_lesion(clinician_client, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    own = LesionImageFactory(lesion=lesion)
    elsewhere = LesionImageFactory(lesion__patient=lesion.patient)
    url = reverse("lesions:lesion-compare", kwargs={"lesion_pk": lesion.pk})
    assert clinician_client.get(url, {"before": own.pk, "after": elsewhere.pk}).status_code == 404


def test_compare_with_one_image_explains_why_not(clinician_client, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    LesionImageFactory(lesion=lesion)
    url = reverse("lesions:lesion-compare", kwargs={"lesion_pk": lesion.pk})
    response = clinician_client.get(url)
    assert response.status_code == 200
    assert b"needs at least two images" in response.content
