"""Upload -> a real ``celery worker`` process -> a finished (or failed) analysis.

The worker is a separate process on a private Redis server and the same PostgreSQL test
database; test data is committed (transactional_db) so that the worker sees it.
"""

from __future__ import annotations

import io
import shutil

import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image

from classifier.artifact import read_card
from classifier.labels import HAM7
from classifier.services import register_model_version
from lesions.models import Analysis, AnalysisStatus
from lesions.pipeline.tasks import run_analysis
from lesions.services import request_analysis
from lesions.tests.factories import LesionImageFactory
from lesions.tests.images import sample_bytes
from lesions.tests.workers import requires_worker_stack, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), *requires_worker_stack()]

FINISHED = (AnalysisStatus.DONE, AnalysisStatus.FAILED)


def wait_for_finished(analysis_pk: int, *, timeout: float = 60) -> Analysis:
    def finished() -> Analysis | None:
        """the analysis to finish"""
        analysis = Analysis.objects.get(pk=analysis_pk)
        return analysis if analysis.status in FINISHED else None

    return wait_until(finished, timeout=timeout, interval=0.1)


@pytest.fixture
def upload(inference_worker, pipeline_media, clinician):
    """Upload an image as the clinician; returns the image (its analysis is queued)."""

    def make(diagnosis: str = "mel", **kwargs):
        return LesionImageFactory(
            lesion__patient__clinic=clinician.clinic,
            uploaded_by=clinician,
            image_bytes=sample_bytes(diagnosis),
            **kwargs,
        )

    return make


def heatmap_files(media_root) -> list:
    return sorted((media_root / "analysis-heatmaps").glob("*"))


def test_upload_is_analysed_by_a_worker_process(upload, model_artifact, pipeline_media):
    image = upload("mel")
    analysis = image.analyses.get()
    assert analysis.status == AnalysisStatus.QUEUED  # written with the upload

    done = wait_for_finished(analysis.pk)

    assert done.status == AnalysisStatus.DONE, done.failure_reason
    assert set(done.probabilities) == set(HAM7)
    assert sum(done.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert done.top_class == max(done.probabilities, key=done.probabilities.get)
    assert done.confidence == pytest.approx(done.probabilities[done.top_class], abs=1e-6)
    # One state; a risk level only where the state is one (the untrained head is uncertain).
    assert done.result_state in {"inconclusive", "high", "moderate", "low"}
    assert done.recommended_action
    assert done.risk_level == ("" if done.result_state == "inconclusive" else done.result_state)
    assert done.tta_views == 8 and set(done.tta_spread) == set(HAM7)
    assert 0 <= done.malignant_probability <= 1
    assert done.attempts == 1 and done.started_at and done.finished_at and done.inference_ms
    # The default model served (no version active), identified by its weights.
    assert done.model_version is None
    assert done.model_sha256 == read_card(model_artifact).weights_sha256
    # The heatmap went through the storage API and is a real image.
    assert default_storage.exists(done.heatmap.name)
    with default_storage.open(done.heatmap.name, "rb") as handle:
        heatmap = Image.open(io.BytesIO(handle.read()))
        assert heatmap.format == "JPEG" and min(heatmap.size) >= 32


def test_a_file_that_is_not_an_image_fails_with_a_reason_and_no_retry(upload):
    # A non-image slipped into storage behind the upload's back (bypassing validation):
    # replaced before the transaction commits, i.e. before the task is sent.
    with transaction.atomic():
        image = upload("nv")
        with default_storage.open(image.file.name, "wb") as handle:
            handle.write(b"%PDF-1.4 this is a document, not a photograph")

    failed = wait_for_finished(image.analyses.get().pk)

    assert failed.status == AnalysisStatus.FAILED
    assert "could not be read" in failed.failure_reason
    assert failed.attempts == 1  # not retried: it would fail the same way
    assert not failed.probabilities and not failed.heatmap


def test_a_task_for_a_finished_analysis_changes_nothing(upload, pipeline_media):
    done = wait_for_finished(upload("bcc").analyses.get().pk)
    assert done.status == AnalysisStatus.DONE
    files_before = heatmap_files(pipeline_media)

    # The same task delivered again (a duplicate message): in this process and via the worker.
    assert run_analysis.apply(args=[done.pk], task_id=done.task_id).get() == "skipped"
    run_analysis.delay(done.pk)
    # The worker handles one task at a time in queue order: once a later analysis is
    # done, the duplicate ahead of it has been processed.
    later = wait_for_finished(upload("df").analyses.get().pk)
    assert later.status == AnalysisStatus.DONE

    again = Analysis.objects.get(pk=done.pk)
    assert (again.status, again.attempts, again.finished_at, again.heatmap.name) == (
        done.status,
        done.attempts,
        done.finished_at,
        done.heatmap.name,
    )
    assert Analysis.objects.filter(image=done.image).count() == 1
    assert len(heatmap_files(pipeline_media)) == len(files_before) + 1  # only the later one


def test_reanalysis_adds_a_new_result_and_keeps_the_old_one(upload, clinician):
    image = upload("bkl")
    first = wait_for_finished(image.analyses.get().pk)

    second = request_analysis(image=image, requested_by=clinician)
    assert second.pk != first.pk
    second = wait_for_finished(second.pk)

    assert second.status == first.status == AnalysisStatus.DONE
    assert Analysis.objects.filter(image=image).count() == 2
    assert Analysis.objects.filter(image=image).latest_per_image().get() == second
    # Same model, same image: the same answer.
    assert second.probabilities == pytest.approx(first.probabilities, abs=1e-5)


def test_worker_serves_a_newly_activated_version(upload, model_artifact, tmp_path):
    version = register_model_version(
        artifact_dir=shutil.copytree(model_artifact, tmp_path / "v1"), name="v1", activate=True
    )

    done = wait_for_finished(upload("vasc").analyses.get().pk)

    assert done.status == AnalysisStatus.DONE, done.failure_reason
    assert done.model_version == version
    assert done.model_sha256 == version.sha256


def test_a_corrupt_model_artifact_fails_analyses_with_a_reason(
    upload, model_artifact, model_store, tmp_path
):
    version = register_model_version(
        artifact_dir=shutil.copytree(model_artifact, tmp_path / "broken"), activate=True
    )
    # The stored files are damaged after registration (a bad disk, a half-finished copy):
    # the worker, which has no copy of this version yet, refuses what it downloads.
    for name in ("weights.safetensors", "model.onnx"):
        path = model_store / version.store_path / name
        if path.exists():
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    first = wait_for_finished(upload("akiec").analyses.get().pk, timeout=60)
    second = wait_for_finished(upload("nv").analyses.get().pk, timeout=30)

    for failed in (first, second):
        assert failed.status == AnalysisStatus.FAILED
        assert "model could not be loaded" in failed.failure_reason
        assert not failed.probabilities
