"""The pages cost the same queries however big the clinic, and the worklist reads indexes.

A change of a number here is a decision: say why in the commit. Each page is read once
before it is counted, as a clinician moving between pages sees it: the navigation's
worklist count is then in the per-clinic cache.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lesions.follow_up.worklist import count_sections, worklist_for
from lesions.services import record_review
from lesions.tests.factories import (
    LesionFactory,
    LesionImageFactory,
    PatientFactory,
    StaffFactory,
    days_ago,
)
from lesions.tests.images import jpeg_bytes
from lesions.tests.pipeline_data import finish

pytestmark = pytest.mark.django_db

FEW, MANY = 2, 8

# URL name, the record its URL names, query string, queries. Web pages: session and user,
# the page's own reads, the audit row of a record read; the navigation's count is cached.
PAGES = [
    ("lesions:home", None, {}, 10),
    ("lesions:patient-list", None, {}, 9),
    ("lesions:patient-list", None, {"q": "scale"}, 9),
    ("lesions:patient-list", None, {"q": "SCALE-0001"}, 10),  # the exact record number
    ("lesions:patient-detail", "patient", {}, 9),
    ("lesions:lesion-detail", "lesion", {}, 13),
]
ADMIN_PAGES = [
    ("admin:lesions_analysis_changelist", 8),
    ("admin:lesions_patient_changelist", 8),
    ("admin:lesions_auditevent_changelist", 8),
]


class Clinic:
    """A clinic grown by patients, each with a lesion whose two images were analysed (the
    first patient's lesion gets every image), half of the results reviewed."""

    def __init__(self, clinician) -> None:
        self.clinician, self.rows = clinician, 0
        self.patient = self.lesion = None

    def grow_to(self, rows: int) -> Clinic:
        while self.rows < rows:
            n = self.rows
            patient = PatientFactory(
                clinic=self.clinician.clinic,
                name=f"Ada Scale{n:04d}",
                medical_record_number=f"SCALE-{n:04d}",
            )
            self.patient = self.patient or patient
            self.lesion = self.lesion or LesionFactory(patient=patient)
            for lesion in {self.lesion, LesionFactory(patient=patient)}:
                image = LesionImageFactory(
                    lesion=lesion,
                    uploaded_by=self.clinician,
                    captured_on=days_ago(30 - n),
                    image_bytes=jpeg_bytes(seed=900 + 2 * n + (lesion == self.lesion)),
                )
                analysis = finish(image, task_id=f"scale-{n}-{lesion.pk}", top="mel")
                if n % 2:
                    record_review(
                        analysis=analysis,
                        reviewer=self.clinician,
                        agrees_with_model=True,
                        basis="clinical",
                        management="monitor",
                    )
            self.rows += 1
        return self

    def url(self, name: str, record: str | None) -> str:
        if record is None:
            return reverse(name)
        return reverse(name, kwargs={f"{record}_pk": getattr(self, record).pk})


@pytest.mark.parametrize(("url_name", "record", "params", "queries"), PAGES)
def test_a_page_costs_the_same_queries_for_a_small_or_a_bigger_clinic(
    engine, clinician, clinician_client, url_name, record, params, queries,
    django_assert_num_queries,
):  # fmt: skip
    clinic = Clinic(clinician)
    for rows in (FEW, MANY):
        url = clinic.grow_to(rows).url(url_name, record)
        assert clinician_client.get(url, params).status_code == 200  # the badge is cached
        with django_assert_num_queries(queries):
            response = clinician_client.get(url, params)
        assert response.status_code == 200


@pytest.mark.parametrize(("url_name", "queries"), ADMIN_PAGES)
def test_an_admin_list_costs_the_same_queries_for_a_small_or_a_bigger_clinic(
    engine, clinician, client, url_name, queries, django_assert_num_queries
):
    client.force_login(StaffFactory(clinic=clinician.clinic))
    clinic = Clinic(clinician)
    for rows in (FEW, MANY):
        clinic.grow_to(rows)
        with django_assert_num_queries(queries):
            response = client.get(reverse(url_name))
        assert response.status_code == 200


def test_the_record_number_search_finds_exactly_that_patient(engine, clinician, clinician_client):
    Clinic(clinician).grow_to(FEW)
    page = clinician_client.get(reverse("lesions:patient-list"), {"q": "scale-0001"}).context[
        "page"
    ]
    assert [patient.medical_record_number for patient in page] == ["SCALE-0001"]


def test_the_worklist_count_is_forgotten_when_a_review_is_recorded(
    engine, clinician, clinician_client
):
    clinic = Clinic(clinician).grow_to(1)
    home = reverse("lesions:home")
    patients = reverse("lesions:patient-list")
    assert clinician_client.get(patients).context["worklist_total"] == 2  # cached now
    (waiting, *_) = worklist_for(clinician)[0].rows
    record_review(
        analysis=waiting,
        reviewer=clinician,
        agrees_with_model=True,
        basis="clinical",
        management="monitor",
    )
    assert clinician_client.get(patients).context["worklist_total"] == 1
    assert clinic.rows and clinician_client.get(home).status_code == 200


# --- the worklist's plans ---------------------------------------------------------------------


def fill_history(image_ids: list[int], rows: int) -> None:
    """``rows`` older analyses of these images (not their newest), then fresh statistics: a
    clinic's years of results, written in one statement rather than through the services."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO lesions_analysis (image_id, status, failure_reason, task_id, attempts,
                created_at, enqueued_at, finished_at, model_id, model_sha256, probabilities,
                top_class, top_class_display, uncertain, uncertainty_message, risk_level,
                recommended_action, tta_spread, heatmap, result_state, state_reason, is_latest)
            SELECT (%s::bigint[])[1 + n %% cardinality(%s::bigint[])], 'done', '', '', 1,
                now() - interval '1 year', now(), now() - interval '1 year', 'old', '', '{}',
                'nv', 'Nevus', false, '', 'low', '', '{}', '', 'low', '', false
            FROM generate_series(1, %s) AS n
            """,
            [image_ids, image_ids, rows],
        )
        cursor.execute("ANALYZE lesions_analysis")
        cursor.execute("ANALYZE lesions_lesion")


def plans_of(run) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        run()
    plans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            cursor.execute("EXPLAIN " + query["sql"])
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def test_the_worklist_reads_the_newest_analyses_through_indexes(engine, clinician):
    """With 40,000 older results and statistics, no worklist query scans the analyses."""
    clinic = Clinic(clinician).grow_to(FEW)
    image_ids = list(clinic.lesion.images.values_list("pk", flat=True))
    fill_history(image_ids, 40_000)
    plans = plans_of(lambda: worklist_for(clinician)) + plans_of(lambda: count_sections(clinician))
    assert len(plans) == 8
    for plan in plans:
        assert "Seq Scan on lesions_analysis" not in plan, plan
    partial = ("analysis_latest_done_idx", "analysis_one_latest_per_image")
    assert any(name in plan for plan in plans for name in partial), plans
    assert worklist_for(clinician)[0].count == FEW  # the older results are not waiting
