"""Model versions travel through the model store: the training machine uploads, every other
machine downloads, checks and keeps a local copy. Two real FileSystemStorage folders play
the remote store and each machine's cache."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage

from classifier import artifact_store
from classifier.errors import ArtifactError
from classifier.models import ModelVersion
from classifier.predictor import Predictor
from classifier.registry import active_artifact_dir, served_model
from classifier.services import activate_model_version, register_model_version

pytestmark = pytest.mark.django_db


class RefusingStorage(FileSystemStorage):
    """A real folder store that refuses card.json, as a full disk or a denied PUT would."""

    def _save(self, name, content):
        if name.endswith("/card.json"):
            raise OSError(28, "No space left on device")
        return super()._save(name, content)


@pytest.fixture
def artifact(tmp_path, untrained_artifact) -> Path:
    """A training run's output on the training machine's disk (with a figure, as real ones)."""
    directory = shutil.copytree(untrained_artifact, tmp_path / "runs" / "lite0")
    (directory / "roc_curves.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(64)))
    return directory


def stored_files(location: Path) -> list[Path]:
    return sorted(p for p in location.rglob("*") if p.is_file()) if location.exists() else []


def test_registering_stores_every_file_and_records_its_manifest(store, artifact):
    version = register_model_version(artifact_dir=artifact, name="lite0 run")

    assert version.store_path.startswith(f"models/lite0-run-{version.sha256[:12]}-")
    files = sorted(p.name for p in artifact.iterdir() if p.is_file())
    assert sorted(version.manifest) == files
    assert {"card.json", "weights.safetensors", "model.onnx", "roc_curves.png"} <= set(files)
    for name, entry in version.manifest.items():
        stored = store / version.store_path / name
        assert stored.read_bytes() == (artifact / name).read_bytes()
        assert entry == {"sha256": artifact_store.sha256_of(stored), "size": stored.stat().st_size}
    # card.json is stored last: a store listing that has it has the whole artifact.
    mtimes = {p.name: p.stat().st_mtime_ns for p in (store / version.store_path).iterdir()}
    assert mtimes["card.json"] >= max(mtimes.values())
    assert version.artifact_path == str(artifact)  # where it came from, for information


def test_a_worker_on_another_machine_fetches_the_active_version_and_predicts(
    store, artifact, another_machine, sample_images
):
    version = register_model_version(artifact_dir=artifact, name="v-remote", activate=True)
    shutil.rmtree(artifact)  # the training machine's disk is not reachable from the worker
    cache = another_machine()

    served = served_model()
    assert served.version == version
    assert served.directory == cache / Path(version.store_path).name
    for name, entry in version.manifest.items():
        assert artifact_store.sha256_of(served.directory / name) == entry["sha256"]
    assert [p.name for p in cache.iterdir() if p.is_dir()] == [served.directory.name]

    predictor = Predictor.from_artifact(served.directory, device="cpu")
    prediction = predictor.predict(sample_images[0], tta=False, heatmap=False)
    assert prediction.label in version.classes
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-5)


def test_a_corrupt_object_in_the_store_is_refused_and_leaves_no_copy(
    store, artifact, another_machine
):
    version = register_model_version(artifact_dir=artifact, name="flipped", activate=True)
    weights = store / version.store_path / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: same size, other content
    weights.write_bytes(bytes(data))
    cache = another_machine()

    with pytest.raises(ArtifactError, match=r"weights\.safetensors in the model store is corrupt"):
        active_artifact_dir()
    assert [p for p in cache.iterdir() if p.is_dir()] == []  # nothing half-downloaded stays
    another_machine("admin")
    with pytest.raises(ValidationError, match="corrupt"):
        activate_model_version(version=version)


def test_an_object_missing_from_the_store_is_refused(store, artifact, another_machine):
    version = register_model_version(artifact_dir=artifact, name="lost", activate=True)
    (store / version.store_path / "model.onnx").unlink()
    cache = another_machine()
    with pytest.raises(ArtifactError, match=r"model\.onnx is missing from the model store"):
        active_artifact_dir()
    assert [p for p in cache.iterdir() if p.is_dir()] == []


def test_an_intact_local_copy_is_reused_without_downloading(store, artifact, another_machine):
    register_model_version(artifact_dir=artifact, name="cached", activate=True)
    another_machine()
    first = served_model().directory
    artifact_store._verified.clear()  # as a new worker process on the same machine
    shutil.rmtree(store)  # nothing left to download: only the local copy can serve

    again = served_model().directory
    assert again == first
    assert (again / "card.json").read_bytes() == (artifact / "card.json").read_bytes()


def test_a_damaged_local_copy_is_downloaded_again(store, artifact, another_machine):
    register_model_version(artifact_dir=artifact, name="damaged", activate=True)
    another_machine()
    directory = served_model().directory
    card = json.loads((directory / "card.json").read_text())
    card["temperature"] = 9.0  # edited in place: no longer what was registered
    (directory / "card.json").write_text(json.dumps(card))

    again = served_model().directory
    assert again == directory
    assert (again / "card.json").read_bytes() == (artifact / "card.json").read_bytes()


def test_processes_fetching_at_once_download_one_copy(store, artifact, another_machine):
    version = register_model_version(artifact_dir=artifact, name="busy")
    cache = another_machine()
    results, errors = [], []

    def fetch():
        try:
            results.append(artifact_store.local_copy(version.store_path, version.manifest))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(results)) == 1
    assert [p.name for p in cache.iterdir() if p.is_dir()] == [results[0].name]


def test_a_failed_upload_records_no_version_and_deletes_what_was_stored(settings, store, artifact):
    settings.STORAGES = {
        **settings.STORAGES,
        "models": {
            "BACKEND": f"{__name__}.RefusingStorage",
            "OPTIONS": {"location": str(store)},
        },
    }
    with pytest.raises(ValidationError, match="No space left on device"):
        register_model_version(artifact_dir=artifact, name="refused")
    assert not ModelVersion.objects.exists()
    assert stored_files(store) == []  # the files stored before card.json were deleted again


def test_an_unwritable_store_records_no_version(settings, store, artifact):
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text("a file where the store's folder should be")
    with pytest.raises(ValidationError, match="could not be stored"):
        register_model_version(artifact_dir=artifact, name="nowhere")
    assert not ModelVersion.objects.exists()


def test_versions_registered_before_the_store_load_from_their_artifact_path(store, artifact):
    version = register_model_version(artifact_dir=artifact, name="legacy")
    ModelVersion.objects.filter(pk=version.pk).update(store_path="", manifest={})
    shutil.rmtree(store)
    activate_model_version(version=ModelVersion.objects.get(pk=version.pk))
    assert served_model().directory == artifact


def test_pages_of_a_stored_version_work_where_it_was_not_trained(store, artifact, another_machine):
    from classifier.selectors import model_page, served_card_of

    version = register_model_version(artifact_dir=artifact, name="elsewhere")
    model_id = json.loads((artifact / "card.json").read_text())["model_id"]
    shutil.rmtree(artifact)
    another_machine("web")

    page = model_page(version)
    assert page.error == "" and page.card.model_id == model_id
    assert page.figures == ("roc_curves",)  # the figure came from the store too
    assert served_card_of(version).model_id == model_id
