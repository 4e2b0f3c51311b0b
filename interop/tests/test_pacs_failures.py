"""A PACS that is down, refuses, or times out: the send fails with the reason, and nothing
that the PACS did not confirm is reported as sent."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from interop import services
from interop.models import PacsSend, SendStatus
from interop.tasks import send_to_pacs
from interop.tests.data import clinical_record
from interop.tests.orthanc import OrthancServer, requires_orthanc
from lesions.tests.workers import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def send(settings, clinician) -> PacsSend:
    settings.DERMASCAN_PACS_URL = "http://127.0.0.1:9/dicom-web"  # replaced by each test
    settings.DERMASCAN_PACS_TIMEOUT = 1.0
    settings.DERMASCAN_PACS_MAX_RETRIES = 1
    settings.DERMASCAN_PACS_RETRY_DELAY = 0.01
    record = clinical_record(clinician)
    return services.request_pacs_send(patient=record.patient, requested_by=clinician)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for connection in accepted:
        connection.close()


def run_task(send: PacsSend) -> PacsSend:
    send_to_pacs.apply(args=(send.pk,))  # in this process; retries run at once
    send.refresh_from_db()
    return send


def test_pacs_down_fails_with_the_reason_after_retries(settings, send):
    settings.DERMASCAN_PACS_URL = f"http://127.0.0.1:{free_port()}/dicom-web"
    send = run_task(send)
    assert send.status == SendStatus.FAILED
    assert "could not be reached" in send.failure_reason and "after 2 tries" in send.failure_reason
    assert send.attempts == 2 and send.instances_stored == 0


def test_pacs_that_never_answers_times_out(settings, send, silent_server):
    settings.DERMASCAN_PACS_URL = f"http://127.0.0.1:{silent_server}/dicom-web"
    settings.DERMASCAN_PACS_MAX_RETRIES = 0
    send = run_task(send)
    assert send.status == SendStatus.FAILED
    assert "did not answer within 1 s" in send.failure_reason


@requires_orthanc()
def test_pacs_refusing_the_credentials_fails_at_once(settings, send, tmp_path):
    orthanc = OrthancServer(tmp_path, users={"pacs": "right-password"})
    try:
        orthanc.start()
        settings.DERMASCAN_PACS_URL = orthanc.dicomweb_url
        settings.DERMASCAN_PACS_USERNAME = "pacs"
        settings.DERMASCAN_PACS_PASSWORD = "wrong-password"
        send = run_task(send)
        assert send.status == SendStatus.FAILED
        assert send.failure_reason == "The PACS refused the credentials (HTTP 401)."
        assert send.attempts == 1  # a refusal is not retried
        assert orthanc.get("/instances").json() == []
    finally:
        orthanc.stop()


def test_no_pacs_configured_refuses_the_request(settings, clinician):
    settings.DERMASCAN_PACS_URL = ""
    record = clinical_record(clinician)
    with pytest.raises(Exception, match="No PACS is configured"):
        services.request_pacs_send(patient=record.patient, requested_by=clinician)
    assert not PacsSend.objects.exists()
