"""Alerts: the documented bounds, recorded once per condition, resolved when they clear."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from lesions.tests.factories import ClinicianFactory
from monitoring.conditions import conditions_for
from monitoring.models import Alert, AlertKind
from monitoring.selectors.figures import Period
from monitoring.services import acknowledge_alert, record_alerts
from monitoring.tests.data import analysed_case, registered_version, uniform_quantiles

pytestmark = pytest.mark.django_db

PERIOD = Period.ending(datetime.date.today(), days=30)


def kinds(clinic) -> list[str]:
    return sorted(c.kind for c in conditions_for(clinic, PERIOD))


def test_a_confirmed_melanoma_rated_low_raises_one_alert_however_often_checked(clinic, monitor):
    missed = analysed_case(clinic, "low", diagnosis="mel")
    analysed_case(clinic, "low", diagnosis="nv")  # a nevus rated Low is not a miss
    first = record_alerts()
    second = record_alerts(now=timezone.now() + datetime.timedelta(hours=1))
    [alert] = Alert.objects.all()
    assert (first.raised, second.raised, second.still_open) == (1, 0, 1)
    assert alert.kind == AlertKind.MELANOMA_MISSED and alert.clinic == clinic
    assert f"analysis {missed.pk}" in alert.message
    assert alert.last_seen_at > alert.raised_at  # the second check saw it again


def test_an_acknowledged_miss_is_not_raised_again(clinic, monitor):
    analysed_case(clinic, "low", diagnosis="mel")
    record_alerts()
    acknowledge_alert(alert=Alert.objects.get(), user=monitor)
    record_alerts()
    assert Alert.objects.count() == 1 and not Alert.objects.open().exists()


def test_not_assessable_share_twice_validations_raises_an_alert(clinic):
    _version, served = registered_version(val_na=0.02)
    reviewer = ClinicianFactory(clinic=clinic)
    for state in ["not_assessable"] * 6 + ["low"] * 24:
        analysed_case(clinic, state, reviewer=reviewer, model=served)
    assert kinds(clinic) == [AlertKind.NOT_ASSESSABLE_ROSE]  # 20 % against val's 2 %
    [condition] = conditions_for(clinic, PERIOD)
    assert "6 of 30" in condition.message


def test_high_share_moving_raises_and_clearing_resolves(clinic):
    reviewer = ClinicianFactory(clinic=clinic)
    for state in ["low"] * 30:  # the previous period: no High
        analysed_case(clinic, state, reviewer=reviewer, days_ago=40)
    now = [analysed_case(clinic, s, reviewer=reviewer) for s in ["high"] * 10 + ["low"] * 20]
    assert kinds(clinic) == [AlertKind.HIGH_SHARE_MOVED]  # 33 % against 0 %
    assert record_alerts().raised == 1
    for analysis in now[:10]:  # the High results leave the window
        analysis.delete()
    assert record_alerts().resolved == 1
    assert Alert.objects.get().resolved_at is not None


def test_drift_shifted_raises_an_alert(clinic):
    _version, served = registered_version(quantiles=uniform_quantiles(0.0, 2.0), val_na=0.5)
    reviewer = ClinicianFactory(clinic=clinic)
    for _ in range(30):
        analysed_case(clinic, "low", distance=3.5, model=served, reviewer=reviewer)
    assert kinds(clinic) == [AlertKind.DRIFT_SHIFTED]
    record_alerts()
    assert Alert.objects.get().model_label == "v1 monitored-1"


def test_an_ordinary_period_raises_nothing(clinic):
    reviewer = ClinicianFactory(clinic=clinic)
    for state in ["low"] * 20 + ["high"] * 5 + ["moderate"] * 4 + ["not_assessable"]:
        analysed_case(clinic, state, reviewer=reviewer)
    assert kinds(clinic) == []
    assert record_alerts().raised == 0
