"""The model registry on PostgreSQL: register, activate (exactly one), fall back to the default."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from classifier.models import ModelVersion
from classifier.registry import active_artifact_dir, served_model
from classifier.services import (
    activate_model_version,
    deactivate_model_versions,
    register_model_version,
)
from classifier.testing import build_untrained_artifact

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("artifacts")
    return [build_untrained_artifact(root / f"model{i}", seed=i) for i in range(2)]


def test_registering_records_the_card_and_numbers_versions(artifacts):
    first = register_model_version(artifact_dir=artifacts[0], name="first")
    second = register_model_version(artifact_dir=artifacts[1])
    card = json.loads((artifacts[0] / "card.json").read_text())
    assert (first.number, second.number) == (1, 2)
    assert first.sha256 == card["weights_sha256"]
    assert first.classes == card["classes"] and first.arch == card["arch"]
    assert second.name == json.loads((artifacts[1] / "card.json").read_text())["model_id"]
    assert not first.is_active and not second.is_active


def test_without_an_active_version_the_default_model_is_served(settings, artifacts):
    register_model_version(artifact_dir=artifacts[0])
    served = served_model()
    assert served.version is None
    assert served.directory == Path(settings.DERMASCAN_DEFAULT_MODEL)


def test_activating_one_deactivates_the_other(settings, artifacts, django_user_model):
    first = register_model_version(artifact_dir=artifacts[0], name="a", activate=True)
    second = register_model_version(artifact_dir=artifacts[1], name="b")
    user = django_user_model.objects.create_user(username="reviewer")
    activate_model_version(version=second, activated_by=user)
    first.refresh_from_db()
    second.refresh_from_db()
    assert not first.is_active and second.is_active
    assert second.activated_by == user and second.activated_at is not None
    # Served from this machine's copy out of the model store, not from where it was trained.
    served_dir = active_artifact_dir()
    assert served_dir.parent == Path(settings.DERMASCAN_MODEL_CACHE)
    assert (served_dir / "card.json").read_bytes() == (artifacts[1] / "card.json").read_bytes()
    assert served_model().key == f"v2:{second.sha256}"

    deactivate_model_versions()
    assert served_model().version is None


def test_the_database_refuses_two_active_versions(artifacts):
    register_model_version(artifact_dir=artifacts[0], name="a", activate=True)
    other = register_model_version(artifact_dir=artifacts[1], name="b")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=other.pk).update(is_active=True)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent writers need PostgreSQL's row locks: SQLite's in-memory test database "
    "locks whole tables (set DATABASE_URL to PostgreSQL)",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_activations_leave_exactly_one_active(artifacts):
    versions = [
        register_model_version(artifact_dir=artifacts[i % 2], name=f"v{i}") for i in range(4)
    ]
    errors = []

    def activate(version):
        try:
            activate_model_version(version=version)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=activate, args=(v,)) for v in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert ModelVersion.objects.filter(is_active=True).count() == 1


def test_an_altered_artifact_cannot_be_registered_or_activated(
    settings, tmp_path, artifacts, model_store
):
    broken = build_untrained_artifact(tmp_path / "broken", seed=7)
    version = register_model_version(artifact_dir=broken, name="broken")
    # The stored copy is what every machine loads: altered there, activating is refused
    # (on a machine that has no copy yet, so it has to download it).
    settings.DERMASCAN_MODEL_CACHE = tmp_path / "another-machine"
    with open(model_store / version.store_path / "weights.safetensors", "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ValidationError, match="does not match the registered"):
        activate_model_version(version=version)
    with open(broken / "weights.safetensors", "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ValidationError, match="does not match the sha256"):
        register_model_version(artifact_dir=broken, name="again")
    with pytest.raises(ValidationError, match="not a directory"):
        register_model_version(artifact_dir=tmp_path / "missing")


def test_duplicate_names_are_refused(artifacts):
    register_model_version(artifact_dir=artifacts[0], name="same")
    with pytest.raises(ValidationError):
        register_model_version(artifact_dir=artifacts[1], name="same")
