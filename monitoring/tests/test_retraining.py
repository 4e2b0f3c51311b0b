"""Guarded retraining: the champion/challenger report and the activation guard."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse

from classifier.models import ModelVersion
from classifier.services import activate_model_version, register_model_version
from classifier.testing import build_untrained_artifact
from lesions.tests.factories import LesionFactory, PatientFactory
from monitoring.comparison import compare_states
from monitoring.models import ActivationOverride, ChallengerReport
from monitoring.services import (
    ActivationRefused,
    override_activation_guard,
    store_challenger_report,
)
from monitoring.tests.conftest import client_of, monitor_of
from monitoring.tests.data import analysed_case
from training.db_samples import split_for_patient

pytestmark = pytest.mark.django_db

REASON = "Reviewed with the clinical lead: the candidate's misses are all in-situ lesions."


def test_a_candidate_missing_melanomas_is_worse_beyond_the_intervals():
    melanoma = np.array([True] * 40 + [False] * 60)
    champion = np.where(melanoma, "high", "low")
    candidate = champion.copy()
    candidate[:20] = "low"  # half the melanomas missed
    report = compare_states(candidate, champion, melanoma, np.arange(100), rounds=200)
    assert report["difference_melanoma_sensitivity"] == -0.5
    assert report["intervals_95"]["difference_melanoma_sensitivity"][1] < 0
    assert report["worse_on"] == ["melanoma_sensitivity"]
    same = compare_states(champion, champion, melanoma, np.arange(100), rounds=50)
    assert same["worse_on"] == []


def test_more_not_assessable_images_is_worse():
    melanoma = np.zeros(100, bool)
    champion = np.array(["low"] * 100)
    candidate = np.array(["not_assessable"] * 30 + ["low"] * 70)
    report = compare_states(candidate, champion, melanoma, np.arange(100), rounds=200)
    assert report["worse_on"] == ["not_assessable"]


@pytest.fixture
def candidate(model_artifact, tmp_path):
    return register_model_version(
        artifact_dir=shutil.copytree(model_artifact, tmp_path / "candidate"), name="candidate"
    )


@pytest.fixture
def worse_report(candidate):
    return store_challenger_report(
        candidate=candidate,
        champion_label="the default model",
        report={"worse_on": ["melanoma_sensitivity on test (ham10000)"]},
    )


def test_activation_of_a_worse_candidate_is_refused(candidate, worse_report):
    with pytest.raises(ActivationRefused, match="melanoma_sensitivity on test"):
        activate_model_version(version=candidate)
    assert not ModelVersion.objects.get(pk=candidate.pk).is_active


def test_a_superusers_written_reason_lets_it_through(candidate, worse_report, superuser):
    override_activation_guard(version=candidate, user=superuser, reason=REASON)
    assert activate_model_version(version=candidate, activated_by=superuser).is_active
    assert ActivationOverride.objects.get().reason == REASON


def test_only_a_superuser_with_a_real_reason_may_override(
    candidate, worse_report, superuser, clinic
):
    with pytest.raises(PermissionDenied):
        override_activation_guard(version=candidate, user=monitor_of(clinic), reason=REASON)
    with pytest.raises(ValidationError):
        override_activation_guard(version=candidate, user=superuser, reason="ok")
    assert not ActivationOverride.objects.exists()


def test_a_candidate_not_worse_activates_as_before(candidate):
    store_challenger_report(candidate=candidate, champion_label="default", report={"worse_on": []})
    assert activate_model_version(version=candidate).is_active


def test_the_admin_action_is_refused_then_allowed_after_an_override(
    candidate, worse_report, superuser
):
    client = client_of(superuser)
    changelist = reverse("admin:classifier_modelversion_changelist")
    action = {"action": "activate", "_selected_action": [candidate.pk]}
    refused = client.post(changelist, action, follow=True).content.decode()
    assert "worse than the default model" in refused
    add = reverse("admin:monitoring_activationoverride_add")
    client.post(add, {"version": candidate.pk, "reason": REASON})
    assert ActivationOverride.objects.filter(created_by=superuser).exists()
    client.post(changelist, action)
    assert ModelVersion.objects.get(pk=candidate.pk).is_active


def tiny_external(root: Path, source: Path) -> Path:
    """Two melanomas and two nevi of external-dev, in its own layout."""
    with open(source / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    chosen = [r for r in rows if r["dx"] == "mel"][:2] + [r for r in rows if r["dx"] == "nv"][:2]
    (root / "images").mkdir(parents=True)
    with open(root / "labels.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image_id", "dx"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(chosen)
    for row in chosen:
        name = f"{row['image_id']}.jpg"
        shutil.copyfile(source / "images" / name, root / "images" / name)
    return root


def held_out_patient(clinic):
    """A patient whose confirmed cases fall in the held-out (test) split."""
    while True:
        patient = PatientFactory(clinic=clinic)
        if split_for_patient(patient.pk) == "test":
            return patient


@pytest.mark.slow
def test_compare_models_reports_on_test_external_and_each_clinic(
    settings, model_artifact, tmp_path, clinic
):
    from training.tests.conftest import _real_rows, write_ham_dir

    external_dev = Path(settings.DERMASCAN_DATA_DIR).parent / "external-dev"
    if not external_dev.is_dir():
        pytest.skip(f"{external_dev} not found")
    settings.DERMASCAN_DEFAULT_MODEL = model_artifact  # the champion
    settings.VAR_DIR = tmp_path / "var"
    candidate = register_model_version(
        artifact_dir=build_untrained_artifact(tmp_path / "challenger", seed=1), name="challenger"
    )
    test_rows = [r for r in _real_rows() if r["split"] == "test"]
    rows = [next(r for r in test_rows if r["dx"] == dx) for dx in ("mel", "nv", "bcc")]
    data = write_ham_dir(tmp_path / "ham", rows)
    patient = held_out_patient(clinic)
    for diagnosis in ("mel", "nv"):
        lesion = LesionFactory(patient=patient)
        analysed_case(clinic, "high", diagnosis=diagnosis, lesion=lesion)
    external = tiny_external(tmp_path / "external", external_dev)

    call_command(
        "compare_models",
        candidate=candidate.number,
        data=str(data),
        external=str(external),
        bootstrap=50,
    )

    stored = ChallengerReport.objects.get(candidate=candidate)
    sets = stored.report["sets"]
    assert len(sets) == 3 and stored.champion_label == "the default model"
    clinic_set = next(name for name in sets if name.startswith(f"clinic {clinic.pk}"))
    assert sets[clinic_set]["images"] == 2 and sets[clinic_set]["melanomas"] == 1
    external_set = next(name for name in sets if name.startswith("external"))
    assert sets[external_set]["images"] == 4
    for figures in sets.values():
        assert "difference_melanoma_sensitivity" in figures["intervals_95"]
