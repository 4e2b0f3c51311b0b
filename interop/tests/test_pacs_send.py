"""Send to PACS end to end: the page's button queues a task, a real Celery worker stores the
objects in a real Orthanc over DICOMweb, and what Orthanc holds is read back and compared."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.conf import settings
from PIL import Image
from pydicom.encaps import generate_fragmented_frames

from interop.dicom import uids
from interop.models import PacsSend, SendStatus
from interop.tests.data import clinical_record
from interop.tests.orthanc import OrthancServer, requires_orthanc
from lesions.tests.workers import (
    PROCESS_DEADLINE,
    CeleryProcess,
    RedisServer,
    WorkerStack,
    celery_app_broker,
    requires_worker_stack,
    wait_until,
)

pytestmark = [pytest.mark.django_db(transaction=True), *requires_worker_stack(), requires_orthanc()]


@pytest.fixture(scope="module")
def pacs_worker(
    django_db_setup, orthanc: OrthancServer, pipeline_media_root, tmp_path_factory
) -> Iterator[None]:
    """A worker of the default queue (where the PACS task goes) that sends to the test
    Orthanc. Not the inference queue: the test's uploads get their results from ``finish``."""
    logs = tmp_path_factory.mktemp("pacs-worker")
    redis = RedisServer(logs)
    stack = WorkerStack(
        broker_url=redis.url,
        media_root=pipeline_media_root,
        model_dir=Path(settings.DERMASCAN_DEFAULT_MODEL),
        log_dir=logs,
    )
    try:
        redis.start()
        with celery_app_broker(redis.url):
            worker = CeleryProcess(
                ["worker", "--queues", "celery", "--concurrency", "1", "--pool", "prefork"]
                + ["--without-gossip", "--without-mingle", "--loglevel", "INFO"]
                + ["--hostname", "pacs@%h"],
                env=stack.env(
                    DERMASCAN_PACS_URL=orthanc.dicomweb_url,
                    DERMASCAN_PACS_MAX_RETRIES="1",
                    DERMASCAN_PACS_RETRY_DELAY="0.5",
                ),
                log_path=logs / "worker-pacs.log",
            ).start()
            stack.processes.append(worker)
            worker.wait_for_log(" ready.", timeout=PROCESS_DEADLINE)
            yield
    finally:
        stack.stop_all()
        redis.stop()


def finished(send: PacsSend) -> PacsSend:
    def done() -> PacsSend | None:
        """the PACS send finished"""
        send.refresh_from_db()
        return send if send.status in (SendStatus.SENT, SendStatus.FAILED) else None

    return wait_until(done, timeout=PROCESS_DEADLINE, interval=0.2)


def read_back(orthanc: OrthancServer, sop_instance_uid: str) -> pydicom.Dataset:
    """QIDO-RS finds the instance; Orthanc's REST API hands back its stored file."""
    found = orthanc.get(f"/dicom-web/instances?SOPInstanceUID={sop_instance_uid}").json()
    assert len(found) == 1, sop_instance_uid
    (match,) = orthanc.post("/tools/lookup", sop_instance_uid).json()
    return pydicom.dcmread(io.BytesIO(orthanc.get(f"/instances/{match['ID']}/file").content))


def test_send_to_pacs_stores_every_image_and_result_in_orthanc(
    settings, pacs, pacs_worker, pipeline_media, clinician, clinician_client
):
    record = clinical_record(clinician)
    settings.DERMASCAN_PACS_URL = pacs.dicomweb_url
    page = clinician_client.get(f"/patients/{record.patient.pk}/")
    assert b"Send to PACS" in page.content
    clinician_client.post(f"/interop/patients/{record.patient.pk}/pacs/")
    send = finished(PacsSend.objects.get(patient=record.patient))
    assert send.status == SendStatus.SENT, send.failure_reason
    assert send.instances_stored == send.instances_total == 6  # 3 images + 3 SRs
    page = clinician_client.get(f"/patients/{record.patient.pk}/")
    assert b'data-pacs-status="sent"' in page.content

    studies = pacs.get(f"/dicom-web/studies?PatientID={record.patient.medical_record_number}")
    assert len(studies.json()) == 2  # one study per visit
    for image in record.images:
        stored = read_back(pacs, uids.image_uid(image.pk))
        assert stored.PatientID == record.patient.medical_record_number
        assert stored.StudyDate == image.captured_on.strftime("%Y%m%d")
        assert stored.SeriesNumber == image.lesion.number
        assert stored.Modality in ("DMS", "XC")
        with image.file.open("rb") as original:
            original_bytes = original.read()
        # The very JPEG the model saw, and the same pixels once decoded.
        frame = b"".join(next(generate_fragmented_frames(stored.PixelData)))
        assert frame.rstrip(b"\0") == original_bytes.rstrip(b"\0")
        expected = np.asarray(Image.open(io.BytesIO(original_bytes)).convert("RGB"))
        decoded = np.asarray(Image.open(io.BytesIO(frame)).convert("RGB"))
        assert np.array_equal(decoded, expected)
        assert stored.Rows == image.height and stored.Columns == image.width
    report = read_back(pacs, uids.report_uid(record.analyses[0].pk))
    assert report.Modality == "SR"
    assert report.StudyInstanceUID == uids.study_uid(
        record.patient.pk, record.images[0].captured_on
    )


def test_sending_again_stores_no_copies(
    settings, pacs, pacs_worker, pipeline_media, clinician, api_send
):
    record = clinical_record(clinician)
    settings.DERMASCAN_PACS_URL = pacs.dicomweb_url
    before = len(pacs.get("/instances").json())
    first = finished(api_send(record.patient.pk))
    after_first = len(pacs.get("/instances").json())
    second = finished(api_send(record.patient.pk))
    assert first.status == second.status == SendStatus.SENT
    assert after_first == before + 6
    assert len(pacs.get("/instances").json()) == after_first


@pytest.fixture
def api_send(clinician):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(clinician)

    def send(patient_pk: int) -> PacsSend:
        response = client.post(f"/api/v1/patients/{patient_pk}/pacs-sends/", {}, format="json")
        assert response.status_code == 202, response.content
        assert response.json()["status"] == "queued"
        return PacsSend.objects.get(pk=response.json()["id"])

    return send
