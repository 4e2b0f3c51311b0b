"""The S3 path (django-storages) against a real S3-compatible server (SeaweedFS on loopback,
lesions/tests/s3.py): uploads, thumbnails, heatmaps and model artifacts live in buckets, a
worker process with an empty cache fetches and checks the model from there, deleted
versions' objects are deleted, and objects are private. Everything is read back over S3
with boto3, never from a folder."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from classifier.services import (
    delete_model_version,
    register_model_version,
)
from lesions import uploads
from lesions.models import Analysis, AnalysisStatus, LesionImage
from lesions.tests.factories import LesionFactory, LesionImageFactory
from lesions.tests.images import sample_bytes
from lesions.tests.workers import (
    PROCESS_DEADLINE,
    REPO,
    database_url_of_tests,
    needs_worker_stack,
    wait_until,
)

pytestmark = pytest.mark.django_db


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree_sha256(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): sha256(p.read_bytes())
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.fixture
def lesion(clinician):
    return LesionFactory(patient__clinic=clinician.clinic)


@pytest.fixture
def artifact(tmp_path, model_artifact) -> Path:
    """A training run's output, to register (a real, loadable model)."""
    return shutil.copytree(model_artifact, tmp_path / "run")


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``manage.py`` in a process of its own: another machine, with only ``env``'s settings."""
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_DEADLINE,
    )


def machine_env(s3, tmp_path: Path, name: str) -> dict[str, str]:
    """A process on another machine: the test database, the buckets, its own var/."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "DERMASCAN_", "AWS_"))
    }
    return {
        **clean,
        "DJANGO_SETTINGS_MODULE": "dermascan_site.settings",
        "DATABASE_URL": database_url_of_tests(),
        "DERMASCAN_VAR_DIR": str(tmp_path / name),
        **s3.env(),
    }


# --- media --------------------------------------------------------------------------------


def test_an_upload_stores_the_image_and_its_thumbnail_in_the_media_bucket(
    s3, clinician_client, lesion, media_root
):
    upload = sample_bytes("mel")
    response = clinician_client.post(
        reverse("lesions:image-upload", kwargs={"lesion_pk": lesion.pk}),
        {
            "file": SimpleUploadedFile("lesion.jpg", upload, content_type="image/jpeg"),
            "captured_on": timezone.localdate().isoformat(),
            "modality": "dermoscopic",
        },
    )
    assert response.status_code == 302
    image = LesionImage.objects.get()

    stored = s3.objects(s3.media)
    assert set(stored) == {image.file.name, image.thumbnail.name}
    clean = uploads.clean_image(upload)  # what the upload service stores, computed again
    assert stored[image.file.name] == clean.content
    assert stored[image.thumbnail.name] == clean.thumbnail
    assert len(stored[image.file.name]) == image.byte_size
    assert Image.open(io.BytesIO(stored[image.file.name])).size == (image.width, image.height)
    assert not media_root.exists()  # nothing went to the local folder
    assert s3.keys(s3.models) == set()

    # The pages stream the bytes from the bucket.
    url = reverse("lesions:image-file", kwargs={"image_pk": image.pk})
    assert b"".join(clinician_client.get(url).streaming_content) == clean.content
    thumbnail = clinician_client.get(f"{url}?size=thumbnail")
    assert b"".join(thumbnail.streaming_content) == clean.thumbnail


def test_stored_objects_are_private_and_only_signed_urls_read_them(s3):
    image = LesionImageFactory(image_bytes=sample_bytes("nv"))
    anonymous = f"{s3.server.endpoint_url}/{s3.media}/{image.file.name}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(anonymous, timeout=10)
    assert refused.value.code == 403

    signed = default_storage.url(image.file.name)
    assert "Signature" in signed and signed.startswith(s3.server.endpoint_url)
    with urllib.request.urlopen(signed, timeout=10) as response:
        assert response.read() == s3.objects(s3.media)[image.file.name]


def test_deleting_an_image_deletes_its_objects(s3, clinician, django_capture_on_commit_callbacks):
    from lesions.services import delete_lesion_image

    kept = LesionImageFactory(image_bytes=sample_bytes("bkl"))
    image = LesionImageFactory(image_bytes=sample_bytes("nv"))
    with django_capture_on_commit_callbacks(execute=True):
        delete_lesion_image(image=image, deleted_by=clinician)
    assert s3.keys(s3.media) == {kept.file.name, kept.thumbnail.name}


# --- model artifacts ----------------------------------------------------------------------


def test_registering_a_model_uploads_every_file_to_the_model_bucket(s3, artifact):
    version = register_model_version(artifact_dir=artifact, name="in-bucket")

    stored = s3.objects(s3.models)
    assert set(stored) == {f"{version.store_path}/{name}" for name in version.manifest}
    assert {"card.json", "weights.safetensors", "model.onnx"} <= set(version.manifest)
    for name, entry in version.manifest.items():
        data = stored[f"{version.store_path}/{name}"]
        assert entry == {"sha256": sha256(data), "size": len(data)}
        assert data == (artifact / name).read_bytes()
    assert s3.keys(s3.media) == set()


@pytest.mark.django_db(transaction=True)
def test_another_process_with_an_empty_cache_fetches_and_verifies_the_model(s3, artifact, tmp_path):
    version = register_model_version(artifact_dir=artifact, name="fetched", activate=True)
    shutil.rmtree(artifact)  # the training machine's disk is not reachable from there
    script = (
        "import json; from classifier.registry import served_model; "
        "from classifier.predictor import Predictor; served = served_model(); "
        "Predictor.from_artifact(served.directory, device='cpu'); "
        "print(json.dumps({'version': served.version.name, 'directory': str(served.directory)}))"
    )

    result = manage(machine_env(s3, tmp_path, "worker"), "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["version"] == "fetched"
    copy = Path(served["directory"])
    assert copy.parent == tmp_path / "worker" / "model-cache"
    assert tree_sha256(copy) == {name: e["sha256"] for name, e in version.manifest.items()}

    # The same object replaced in the bucket: a fresh machine refuses it and keeps nothing.
    weights = f"{version.store_path}/weights.safetensors"
    tampered = bytearray(s3.objects(s3.models)[weights])
    tampered[len(tampered) // 2] ^= 0xFF
    s3.server.client().put_object(Bucket=s3.models, Key=weights, Body=bytes(tampered))
    result = manage(machine_env(s3, tmp_path, "fresh"), "shell", "-c", script)
    assert result.returncode != 0
    assert "weights.safetensors in the model store is corrupt" in result.stderr
    cache = tmp_path / "fresh" / "model-cache"
    assert [p for p in cache.iterdir() if not p.name.startswith(".")] == []


def test_deleting_a_version_deletes_its_objects_from_the_bucket(
    s3, artifact, django_capture_on_commit_callbacks
):
    active = register_model_version(artifact_dir=artifact, name="served", activate=True)
    doomed = register_model_version(artifact_dir=artifact, name="retired")
    served_keys = {f"{active.store_path}/{name}" for name in active.manifest}

    with django_capture_on_commit_callbacks(execute=True):
        delete_model_version(version=doomed)
    assert s3.keys(s3.models) == served_keys

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ValidationError, match="is being served"),
    ):
        delete_model_version(version=active)
    assert s3.keys(s3.models) == served_keys


def test_a_version_that_made_analyses_keeps_its_objects(
    s3, artifact, django_capture_on_commit_callbacks
):
    version = register_model_version(artifact_dir=artifact, name="on-record")
    image = LesionImageFactory(image_bytes=sample_bytes("df"))
    Analysis.objects.filter(image=image).update(model_version=version)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ValidationError, match="1 analysis was made with"),
    ):
        delete_model_version(version=version)
    assert len(s3.keys(s3.models)) == len(version.manifest)


# --- a real worker ------------------------------------------------------------------------


@needs_worker_stack
@pytest.mark.django_db(transaction=True)
def test_a_worker_serves_the_version_from_the_bucket_and_stores_the_heatmap_there(
    s3, worker_stack, artifact, clinician, tmp_path
):
    version = register_model_version(artifact_dir=artifact, name="bucket-model", activate=True)
    shutil.rmtree(artifact)
    cache = tmp_path / "worker-cache"
    worker = worker_stack.start_worker("s3", DERMASCAN_MODEL_CACHE=str(cache), **s3.env())
    assert f"Loaded model v{version.number}:{version.sha256}" in worker.log()

    image = LesionImageFactory(
        lesion__patient__clinic=clinician.clinic,
        uploaded_by=clinician,
        image_bytes=sample_bytes("mel"),
    )

    def finished() -> Analysis | None:
        """the worker to finish the analysis"""
        analysis = Analysis.objects.get(image=image)
        return analysis if analysis.status in (AnalysisStatus.DONE, AnalysisStatus.FAILED) else None

    done = wait_until(finished, timeout=PROCESS_DEADLINE)
    assert done.status == AnalysisStatus.DONE, done.failure_reason
    assert done.model_version == version and done.model_sha256 == version.sha256

    # The worker fetched every file of the version into its empty cache, checked.
    (copy,) = (p for p in cache.iterdir() if not p.name.startswith("."))
    assert copy.name == Path(version.store_path).name
    assert tree_sha256(copy) == {name: e["sha256"] for name, e in version.manifest.items()}
    assert "downloaded from the model store" in worker.log()

    # The heatmap it wrote is in the media bucket, beside the image and its thumbnail.
    stored = s3.objects(s3.media)
    assert set(stored) == {image.file.name, image.thumbnail.name, done.heatmap.name}
    heatmap = Image.open(io.BytesIO(stored[done.heatmap.name]))
    assert heatmap.format == "JPEG" and min(heatmap.size) >= 32
    with default_storage.open(done.heatmap.name, "rb") as handle:  # as the pages read it
        assert handle.read() == stored[done.heatmap.name]


# --- backups ------------------------------------------------------------------------------


def test_a_backup_with_the_model_store_in_a_bucket_says_it_is_not_in_the_archive(s3, tmp_path):
    env = machine_env(s3, tmp_path, "ops")
    del env["AWS_STORAGE_BUCKET_NAME"]  # media in a folder, models in the bucket
    env["DERMASCAN_MEDIA_ROOT"] = str(tmp_path / "media")
    result = manage(env, "backup", "--output", str(tmp_path / "backups"))
    assert result.returncode == 0, result.stderr
    assert "The model store is a bucket and is not in the archive" in result.stderr
    (archive,) = (tmp_path / "backups").glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        assert not [name for name in tar.getnames() if "/model-store" in name]
