"""The model page: login required, the served card with its figures, versions, the admin action."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from classifier.models import ModelVersion
from classifier.services import register_model_version
from classifier.testing import build_untrained_artifact

pytestmark = [pytest.mark.django_db, pytest.mark.urls("classifier.tests.urls")]
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 32


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    directory = build_untrained_artifact(tmp_path_factory.mktemp("a") / "model", seed=3)
    card = json.loads((directory / "card.json").read_text())
    card["metrics"] = {
        "test": {
            "split": "test",
            "images": 1351,
            "tta_views": 8,
            "balanced_accuracy": 0.7123,
            "per_class": {"mel": {"precision": 0.5, "recall": 0.6, "f1": 0.55, "auc": 0.88}},
            "melanoma": {"auc": 0.88},
        }
    }
    card["training"] = {"data": {"source_name": "HAM10000 test copy", "split_method": "given"}}
    (directory / "card.json").write_text(json.dumps(card))
    (directory / "roc_curves.png").write_bytes(PNG)
    (directory / "secret.txt").write_text("not for the web")
    return directory


@pytest.fixture
def client_logged_in(django_user_model) -> Client:
    client = Client()
    client.force_login(django_user_model.objects.create_user(username="doc"))
    return client


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(reverse("classifier:model-card"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_page_shows_the_active_versions_card_and_figures(settings, artifact, client_logged_in):
    version = register_model_version(artifact_dir=artifact, name="page-model", activate=True)
    response = client_logged_in.get(reverse("classifier:model-card"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Not a diagnostic device" in html
    assert "0.712" in html and "HAM10000 test copy" in html
    assert f"version {version.number} (active)" in html
    figure_url = reverse(
        "classifier:version-figure", kwargs={"number": version.number, "name": "roc_curves"}
    )
    assert figure_url in html
    # the served model's figure is also reachable without naming the version
    served = reverse("classifier:model-figure", kwargs={"name": "roc_curves"})
    assert client_logged_in.get(served).status_code == 200
    figure = client_logged_in.get(figure_url)
    assert figure.status_code == 200 and figure["Content-Type"] == "image/png"
    assert b"".join(figure.streaming_content) == PNG


def test_only_known_figures_are_served(artifact, client_logged_in):
    register_model_version(artifact_dir=artifact, name="m", activate=True)
    for name in ("secret", "weights", "confusion_matrix"):  # last: known name, file absent
        url = reverse("classifier:model-figure", kwargs={"name": name})
        assert client_logged_in.get(url).status_code == 404


def test_default_model_page_when_nothing_is_active(settings, artifact, client_logged_in, tmp_path):
    settings.DERMASCAN_DEFAULT_MODEL = tmp_path / "default"
    shutil.copytree(artifact, settings.DERMASCAN_DEFAULT_MODEL)
    html = client_logged_in.get(reverse("classifier:model-card")).content.decode()
    assert "the default model shipped with DermaScan" in html


def test_missing_artifact_gives_a_readable_message(settings, client_logged_in, tmp_path):
    settings.DERMASCAN_DEFAULT_MODEL = tmp_path / "nothing-here"
    response = client_logged_in.get(reverse("classifier:model-card"))
    assert response.status_code == 200
    assert "cannot be shown" in response.content.decode()


def test_a_version_page_and_its_figures(artifact, client_logged_in):
    version = register_model_version(artifact_dir=artifact, name="older")
    url = reverse("classifier:version-card", kwargs={"number": version.number})
    assert "version 1" in client_logged_in.get(url).content.decode()
    figure = reverse("classifier:version-figure", kwargs={"number": 1, "name": "roc_curves"})
    assert client_logged_in.get(figure).status_code == 200
    assert client_logged_in.get(reverse("classifier:version-card", args=[99])).status_code == 404


def test_admin_activate_action(artifact, django_user_model):
    staff = django_user_model.objects.create_superuser(username="boss", password="x")
    version = register_model_version(artifact_dir=artifact, name="to-activate")
    client = Client()
    client.force_login(staff)
    response = client.post(
        reverse("admin:classifier_modelversion_changelist"),
        {"action": "activate", "_selected_action": [version.pk]},
        follow=True,
    )
    assert response.status_code == 200
    version.refresh_from_db()
    assert version.is_active and version.activated_by == staff
    assert ModelVersion.objects.filter(is_active=True).count() == 1


def test_default_model_page_states_the_operating_point_in_plain_words(settings, client_logged_in):
    settings.DERMASCAN_DEFAULT_MODEL = Path(settings.BASE_DIR) / "classifier" / "default_model"
    html = client_logged_in.get(reverse("classifier:model-card")).content.decode()
    assert "Operating point: what a result means" in html
    assert "A result is <strong>High</strong> when the melanoma probability is at least" in html
    assert "At this setting the model rated" in html
    assert "non-lesion images" in html


def test_a_model_without_thresholds_says_it_has_no_measured_operating_point(
    settings, artifact, client_logged_in, tmp_path
):
    settings.DERMASCAN_DEFAULT_MODEL = tmp_path / "default"
    shutil.copytree(artifact, settings.DERMASCAN_DEFAULT_MODEL)
    html = client_logged_in.get(reverse("classifier:model-card")).content.decode()
    assert "no measured operating point" in html
