"""How many queries each API read costs, pinned: the same with 1 record as with 10, so an N+1
(a query per row) or a stray lookup shows up here rather than in production.

Counted for a device token used in the last minute (its "last used" write is done), as a
phone that polls sees it: the token and its user are one query. A change of a number here
is a decision: say why in the commit.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import reverse
from django.utils import timezone

from classifier.models import ModelVersion
from dermascan_site import health
from lesions.models import Analysis, LesionImage, WorkerHeartbeat
from lesions.services import record_review, request_analysis
from lesions.tests.api.conftest import client_with_token, token_for
from lesions.tests.factories import LesionFactory, LesionImageFactory, PatientFactory, days_ago
from lesions.tests.images import jpeg_bytes
from lesions.tests.pipeline_data import finish

pytestmark = pytest.mark.django_db

FEW, MANY = 1, 10

# Every JSON read of the API: URL name, the record its URL names, queries.
READS = [
    # token, count, page (figures per patient are subqueries of the page's query)
    ("api:patient-list", None, 3),
    # token, the patient with its figures, the audit row of the read
    ("api:patient-detail", "patient", 3),
    # token, patient, count, page
    ("api:patient-lesions", "patient", 4),
    # token, the lesion with its image figures, the audit row of the read
    ("api:lesion-detail", "lesion", 3),
    # token, lesion, its images, their newest analyses, those analyses' reviews
    ("api:lesion-history", "lesion", 5),
    # token, lesion, count, page
    ("api:lesion-images", "lesion", 4),
    # token, image
    ("api:image-detail", "image", 2),
    # token, image, count, page, the analyses' reviews, the reader's clinic (whose audience
    # words each finished result's headline; once per request, whatever the rows)
    ("api:image-analyses", "image", 6),
    # token, analysis, its reviews
    ("api:analysis-detail", "analysis", 3),
    # token, analysis, count, page
    ("api:analysis-reviews", "analysis", 4),
    # token, count, page
    ("api:review-list", None, 3),
    # token, one query per section (review, evolving, due, failed)
    ("api:worklist", None, 5),
    # token, the device list
    ("api:device-list", None, 3),  # token, the page's count, its rows
]
# Downloads: token, the record; the full image also writes its audit row.
FILES = [
    ("api:image-file", "image", {"size": "thumbnail"}, 2),
    ("api:image-file", "image", {}, 3),
    ("api:analysis-heatmap", "analysis", {}, 2),
]
URL_KWARGS = {
    "patient": "patient_pk",
    "lesion": "lesion_pk",
    "image": "image_pk",
    "analysis": "analysis_pk",
}


@dataclass
class Records:
    """The records the URLs name, and how many rows each list has under them."""

    clinician: object
    patient: object = None
    lesion: object = None
    image: LesionImage | None = None
    analysis: Analysis | None = None
    rows: int = 0
    version: ModelVersion | None = None

    def url(self, name: str, record: str | None) -> str:
        if record is None:
            return reverse(name)
        return reverse(name, kwargs={URL_KWARGS[record]: getattr(self, record).pk})

    def grow_to(self, rows: int) -> Records:
        """Each list the URLs read gets ``rows`` rows: patients of the clinic, lesions of
        the patient, analysed images of the lesion (each reviewed twice, so the second
        supersedes the first), analyses of the image and reviews of the analysis. The
        analyses are a registered model version's, so reading more of the version than
        an analysis shows (its card is deferred) would be a query per row."""
        while self.rows < rows:
            self._add_row()
        if self.version is None:
            self.version = ModelVersion.objects.create(
                number=1,
                name="ham7-test",
                artifact_path="classifier/default_model",
                arch="tf_efficientnet_lite0",
                classes=["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"],
                sha256="ab" * 32,
            )
        Analysis.objects.filter(image__lesion__patient__clinic=self.clinician.clinic).update(
            model_version=self.version
        )
        return self

    def _add_row(self) -> None:
        n = self.rows
        patient = PatientFactory(clinic=self.clinician.clinic)
        self.patient = self.patient or patient
        lesion = LesionFactory(patient=self.patient)
        self.lesion = self.lesion or lesion
        image = LesionImageFactory(
            lesion=self.lesion,
            uploaded_by=self.clinician,
            captured_on=days_ago(40 - n),
            image_bytes=jpeg_bytes(seed=700 + n),
        )
        self.image = self.image or image
        analyses = [finish(image, task_id=f"image-{n}")]
        if n:  # the first image's first analysis is already there
            request_analysis(image=self.image, requested_by=self.clinician)
            analyses.append(finish(self.image, task_id=f"again-{n}"))
        self.analysis = self.analysis or analyses[0]
        for analysis in {*analyses, self.analysis}:
            for management in ("monitor", "excise"):
                record_review(
                    analysis=analysis,
                    reviewer=self.clinician,
                    agrees_with_model=True,
                    basis="clinical",
                    management=management,
                )
        self.rows += 1


@pytest.fixture
def records(clinician) -> Records:
    return Records(clinician).grow_to(FEW)


@pytest.fixture
def phone(clinician):
    """The clinician's phone, its token used a moment ago."""
    api = client_with_token(token_for(clinician))
    assert api.get(reverse("api:device-list")).status_code == 200  # writes "last used"
    return api


@pytest.mark.parametrize(("url_name", "record", "queries"), READS)
def test_a_read_costs_the_same_queries_for_1_or_10_rows(
    phone, records, url_name, record, queries, django_assert_num_queries
):
    for rows in (FEW, MANY):
        url = records.grow_to(rows).url(url_name, record)
        with django_assert_num_queries(queries):
            response = phone.get(url, {"page_size": 100})
        assert response.status_code == 200, response.content


def test_lists_have_the_rows_they_were_counted_with(phone, records):
    """The counts above are of lists that really have their rows."""
    records.grow_to(MANY)
    assert phone.get(records.url("api:patient-list", None)).json()["count"] == MANY
    assert phone.get(records.url("api:patient-lesions", "patient")).json()["count"] == MANY
    history = phone.get(records.url("api:lesion-history", "lesion")).json()["results"]
    assert len(history) == MANY and all(entry["analysis"]["current_review"] for entry in history)
    assert phone.get(records.url("api:image-analyses", "image")).json()["count"] == MANY
    reviews = phone.get(records.url("api:analysis-reviews", "analysis")).json()
    assert reviews["count"] == 2 * MANY


@pytest.mark.parametrize(("url_name", "record", "params", "queries"), FILES)
def test_a_download_costs_the_same_queries_for_1_or_10_rows(
    phone, records, url_name, record, params, queries, django_assert_num_queries
):
    for rows in (FEW, MANY):
        url = records.grow_to(rows).url(url_name, record)
        with django_assert_num_queries(queries):
            response = phone.get(url, params)
        assert response.status_code == 200
        b"".join(response.streaming_content)


def test_the_model_costs_the_token_and_the_active_version(
    phone, settings, model_artifact, django_assert_num_queries
):
    settings.DERMASCAN_DEFAULT_MODEL = model_artifact
    with django_assert_num_queries(2):
        assert phone.get(reverse("api:model")).status_code == 200


# --- health ---------------------------------------------------------------------------------


@pytest.fixture
def fresh_health_checks():
    checks = (health.remembered_database, health.remembered_broker, health.remembered_model)
    for check in checks:
        check.forget()
    yield
    for check in checks:
        check.forget()


def beat(workers: int) -> None:
    for n in range(workers):
        WorkerHeartbeat.objects.create(
            hostname=f"w{n}@host", queues="celery,inference", beat_at=timezone.now()
        )


@pytest.mark.parametrize("url_name", ["health", "api-health"])
@pytest.mark.parametrize("workers", [FEW, MANY])
def test_health_reads_heartbeats_and_model_once_then_nothing(
    client, fresh_health_checks, url_name, workers, django_assert_num_queries
):
    beat(workers)
    # Heartbeats, and which model version is active (remembered for a while after).
    with django_assert_num_queries(2):
        client.get(reverse(url_name))
    with django_assert_num_queries(0):
        for _ in range(3):
            client.get(reverse(url_name))


@pytest.mark.parametrize("workers", [FEW, MANY])
def test_health_details_cost_the_token_and_the_analysis_counts(
    clinician, fresh_health_checks, workers, django_assert_num_queries
):
    beat(workers)
    api = client_with_token(token_for(clinician))
    api.get(reverse("api-health"))  # the heartbeats, the model and "last used" are done
    # Token, then queued and running analyses and the oldest queued one.
    with django_assert_num_queries(3):
        body = api.get(reverse("api-health")).json()
    assert len(body["workers"]) == workers
