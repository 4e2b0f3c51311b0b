"""Reads of patients: the clinic's list with its figures, one patient, the next visit due.

Every lookup is scoped to the user's clinic, so a record of another clinic is
indistinguishable from one that does not exist (404)."""

from __future__ import annotations

import datetime
import functools
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    Func,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.shortcuts import get_object_or_404

from lesions.models import (
    Lesion,
    LesionImage,
    Patient,
    User,
)
from lesions.selectors.lesions import latest_result_state


def patient_list_for(user: User, *, query: str = "") -> QuerySet[Patient]:
    """The clinic's patients by name, without figures: what a list counts and pages through
    (an index range of ``(clinic, family_name, given_names, id)``)."""
    return (
        Patient.objects.visible_to(user).search(query).order_by("family_name", "given_names", "pk")
    )


def patients_for(user: User, *, query: str = "") -> QuerySet[Patient]:
    """The clinic's patients by name, with what the list shows about their lesions."""
    return patient_list_for(user, query=query).annotate(**patient_figures())


def with_figures(page: QuerySet[Patient]) -> QuerySet[Patient]:
    """One page of a patient list (a sliced queryset) with the list's figures.

    The figures are subqueries of the page's own rows: annotating the list before slicing
    would have PostgreSQL compute them for every row an OFFSET skips (page 790 computed
    them for 19,725 patients), and counting the pages would not need them at all.
    """
    ordering = page.query.order_by or Patient._meta.ordering
    return (
        Patient.objects.filter(pk__in=page.values("pk"))
        .annotate(**patient_figures())
        .order_by(*ordering)
    )


class PatientPaginator(Paginator):
    """Counts the plain list, then reads one page's rows with their figures."""

    def _get_page(self, object_list: Any, number: int, paginator: Paginator) -> Page:
        return super()._get_page(with_figures(object_list), number, paginator)


@functools.cache
def patient_figures() -> dict[str, Subquery]:
    """For annotating patients: lesion counts and visit dates.

    Each is a subquery of the patient's own rows, not a join with GROUP BY: a page costs its
    25 patients' lookups whatever the clinic's size, and counting the pages needs no join
    at all. Built once (they name no user; every use copies them): building them cost a
    list request more than half a millisecond.
    """
    lesions = Lesion.objects.filter(patient=OuterRef("pk"))
    followed = lesions.followed_up()
    return {
        "lesion_count": count_of(lesions),
        "evolving_count": count_of(followed.filter(evolving=True)),
        "last_visit_on": Subquery(
            LesionImage.objects.filter(lesion__patient=OuterRef("pk"))
            .order_by("-captured_on")
            .values("captured_on")[:1]
        ),
        # A patient's next visit is the earliest next review of their followed lesions.
        "next_visit_on": Subquery(
            followed.filter(next_review_on__isnull=False)
            .order_by("next_review_on")
            .values("next_review_on")[:1]
        ),
    }


def count_of(rows: QuerySet) -> Subquery:
    """For annotating: how many ``rows`` (filtered on ``OuterRef``) there are."""
    counted = rows.order_by().values(n=Func("pk", function="COUNT", output_field=IntegerField()))
    return Subquery(counted, output_field=IntegerField())


# Which latest result speaks for a patient in the list: the most concerning one.
STATE_CONCERN = {"high": 4, "inconclusive": 3, "moderate": 3, "not_assessable": 2, "low": 1}


def with_latest_risk(patients: list[Patient]) -> list[Patient]:
    """Set ``latest_risk`` on each patient (one query for the page): the most concerning
    latest result state among the lesions still followed, "" when none has a result."""
    states: dict[int, str] = {}
    rows = (
        Lesion.objects.filter(patient__in=patients)
        .followed_up()
        .annotate(latest_state=latest_result_state())
        .values_list("patient_id", "latest_state")
    )
    for patient_id, state in rows:
        if state and STATE_CONCERN.get(state, 0) > STATE_CONCERN.get(states.get(patient_id), 0):
            states[patient_id] = state
    for patient in patients:
        patient.latest_risk = states.get(patient.pk, "")
    return patients


def get_patient_for(user: User, patient_pk: int) -> Patient:
    return get_object_or_404(Patient.objects.visible_to(user), pk=patient_pk)


def get_patient_overview_for(user: User, patient_pk: int) -> Patient:
    """A patient with the figures the list shows (lesion counts, visits) in one query."""
    return get_object_or_404(patients_for(user), pk=patient_pk)


def next_visit_of(lesions: list[Lesion]) -> datetime.date | None:
    """A patient's next visit: the earliest next review of their followed lesions."""
    dates = [
        lesion.next_review_on for lesion in lesions if lesion.is_followed and lesion.next_review_on
    ]
    return min(dates, default=None)
