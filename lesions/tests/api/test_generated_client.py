"""A client generated from the live schema drives the whole mobile flow against a live
server and a real Celery worker: the schema tells the truth.

openapi-python-client generates the client into a temporary folder during the run (it is
never committed); the test then uses only that client, as a mobile developer would.
"""

from __future__ import annotations

import datetime
import importlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lesions.tests.factories import TEST_PASSWORD, ClinicianFactory
from lesions.tests.images import sample_bytes
from lesions.tests.workers import requires_worker_stack

pytestmark = [pytest.mark.django_db(transaction=True), *requires_worker_stack()]

GENERATOR_CONFIG = """\
post_hooks:
  - "{ruff} check . --fix --extend-select=I --quiet"
  - "{ruff} format . --quiet"
package_name_override: dermascan_client
project_name_override: dermascan_client
content_type_overrides:
  image/jpeg: application/octet-stream
  image/png: application/octet-stream
  application/pdf: application/octet-stream
"""


@pytest.fixture
def generated_client(live_server, tmp_path, monkeypatch):
    """Generate the client package from the live server's schema and import it."""
    schema = tmp_path / "schema.json"
    import urllib.request

    with urllib.request.urlopen(f"{live_server.url}/api/schema/?format=json") as answer:
        schema.write_bytes(answer.read())
    tools = Path(sys.executable).parent
    (tmp_path / "config.yaml").write_text(GENERATOR_CONFIG.format(ruff=tools / "ruff"))
    generator = tools / "openapi-python-client"
    result = subprocess.run(
        [str(generator), "generate", "--path", str(schema), "--meta", "none"]
        + ["--config", str(tmp_path / "config.yaml"), "--fail-on-warning"]
        + ["--output-path", str(tmp_path / "dermascan_client")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("dermascan_client")]:
        del sys.modules[name]
    return importlib.import_module("dermascan_client")


CALLED: set[str] = set()


def call(module: str, **kwargs):
    """Call a generated endpoint and return its parsed answer, failing on an error status."""
    endpoint = importlib.import_module(f"dermascan_client.api.{module}")
    CALLED.add(module)
    response = endpoint.sync_detailed(**kwargs)
    assert 200 <= response.status_code < 300, (module, response.status_code, response.content)
    return response


def test_the_whole_mobile_flow(
    generated_client, live_server, inference_worker, pipeline_media, settings
):
    settings.DERMASCAN_PREDICT_WAIT = 0  # so that the quick check's status endpoint is used
    from dermascan_client import AuthenticatedClient, Client
    from dermascan_client.models import (
        BodySiteEnum,
        BodyViewEnum,
        ImageUploadRequest,
        LesionRequest,
        LoginRequest,
        ManagementDecisionEnum,
        NextReviewRequest,
        PatientRequest,
        ReviewBasisEnum,
        ReviewCreateRequest,
    )
    from dermascan_client.types import File

    clinician = ClinicianFactory()
    anonymous = Client(base_url=live_server.url, raise_on_unexpected_status=True)

    login = call(
        "auth.auth_login_create",
        client=anonymous,
        body=LoginRequest(
            username=clinician.username, password=TEST_PASSWORD, device_name="generated client"
        ),
    ).parsed
    assert login.clinic.id == clinician.clinic_id
    api = AuthenticatedClient(base_url=live_server.url, token=login.token, prefix="Token")

    patient = call(
        "patients.patients_create",
        client=api,
        body=PatientRequest(
            medical_record_number="GEN-1",
            family_name="Patient",
            given_names="Generated",
            date_of_birth=datetime.date(1980, 2, 3),
        ),
    ).parsed
    lesion = call(
        "lesions.patients_lesions_create",
        client=api,
        patient_pk=patient.id,
        body=LesionRequest(
            label="left forearm",
            body_site=BodySiteEnum.UPPER_EXTREMITY,
            body_view=BodyViewEnum.FRONT,
            map_x=0.3,
            map_y=0.5,
        ),
    ).parsed
    image = call(
        "images.lesions_images_create",
        client=api,
        lesion_pk=lesion.id,
        body=ImageUploadRequest(
            file=File(payload=sample_bytes("mel"), file_name="mole.jpg", mime_type="image/jpeg")
        ),
    ).parsed
    assert image.width == 256

    analyses = call("analyses.images_analyses_list", client=api, image_pk=image.id).parsed
    analysis_id = analyses.results[0].id
    assert image.analysis.id == analysis_id  # the upload answers its analysis
    deadline = time.monotonic() + 90
    while True:
        analysis = call("analyses.analyses_retrieve", client=api, analysis_pk=analysis_id).parsed
        if analysis.status.value in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert analysis.status.value == "done", analysis.failure_reason
    assert analysis.result_state.value in ("inconclusive", "high", "moderate", "low")
    assert sum(analysis.probabilities.additional_properties.values()) == pytest.approx(1, abs=1e-3)

    heatmap = call("analyses.analyses_heatmap_retrieve", client=api, analysis_pk=analysis_id)
    assert heatmap.content[:2] == b"\xff\xd8"  # a JPEG
    history = call("lesions.lesions_history_list", client=api, lesion_pk=lesion.id).parsed
    assert [entry.image.id for entry in history.results] == [image.id]
    assert history.results[0].analysis.id == analysis_id

    # Follow-up: sign the result off, move the next review, read the worklist, the report.
    review = call(
        "reviews.analyses_reviews_create",
        client=api,
        analysis_pk=analysis_id,
        body=ReviewCreateRequest(
            agrees_with_model=True,
            basis=ReviewBasisEnum.CLINICAL,
            management=ManagementDecisionEnum.SHORT_TERM_RECHECK,
        ),
    ).parsed
    assert review.current and review.reviewer.username == clinician.username
    reviews = call("reviews.reviews_list", client=api).parsed
    assert [r.id for r in reviews.results] == [review.id]
    reviewed = call("lesions.lesions_retrieve", client=api, lesion_pk=lesion.id).parsed
    assert reviewed.next_review_reason == "Short-term recheck (review)"
    moved = call(
        "lesions.lesions_next_review_update",
        client=api,
        lesion_pk=lesion.id,
        body=NextReviewRequest(next_review_on=datetime.date(2027, 1, 15)),
    ).parsed
    assert moved.next_review_on == datetime.date(2027, 1, 15)
    work = call("worklist.worklist_retrieve", client=api).parsed
    assert [section.key.value for section in work.sections] == [
        "review",
        "evolving",
        "due",
        "failed",
    ]
    assert [section.count for section in work.sections] == [0, 0, 0, 0]
    report = call("reports.patients_report_pdf_retrieve", client=api, patient_pk=patient.id)
    assert report.content.startswith(b"%PDF")

    every_other_endpoint(
        api, anonymous, clinician.username, patient.id, lesion.id, image.id, analysis_id
    )

    call("auth.auth_logout_create", client=api)
    after = importlib.import_module("dermascan_client.api.patients.patients_list")
    assert after.sync_detailed(client=api).status_code == 401
    generated = {
        f"{path.parent.name}.{path.stem}"
        for path in Path(generated_client.__file__).parent.glob("api/*/*.py")
        if path.stem != "__init__"
    }
    assert generated == CALLED, f"endpoints the test never called: {generated - CALLED}"


def every_other_endpoint(api, anonymous, username, patient_id, lesion_id, image_id, analysis_id):
    """The reads, updates and deletes the flow above does not need, through the client too."""
    from dermascan_client import AuthenticatedClient
    from dermascan_client.models import (
        LesionRequest,
        LoginOTPRequest,
        LoginRequest,
        PatchedLesionRequest,
        PatchedPatientRequest,
        PatientRequest,
        PredictRequest,
    )
    from dermascan_client.models.worklist_list_section import WorklistListSection
    from dermascan_client.types import File
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    base_url = anonymous._base_url
    call("health.health_retrieve", client=api)
    assert call("model.model_retrieve", client=api).parsed.thresholds.t_mel > 0
    call("worklist.worklist_list", client=api, section=WorklistListSection.REVIEW)
    call("patients.patients_list", client=api)
    call("patients.patients_retrieve", client=api, patient_pk=patient_id)
    call(
        "patients.patients_partial_update",
        client=api,
        patient_pk=patient_id,
        body=PatchedPatientRequest(notes="Seen."),
    )
    put = PatientRequest(
        medical_record_number="GEN-1",
        family_name="Patient",
        given_names="Generated",
        date_of_birth=datetime.date(1980, 2, 3),
    )
    call("patients.patients_update", client=api, patient_pk=patient_id, body=put)
    call("lesions.patients_lesions_list", client=api, patient_pk=patient_id)
    call(
        "lesions.lesions_partial_update",
        client=api,
        lesion_pk=lesion_id,
        body=PatchedLesionRequest(label="left forearm, distal"),
    )
    lesion = call("lesions.lesions_retrieve", client=api, lesion_pk=lesion_id).parsed
    body = LesionRequest(
        label=lesion.label,
        body_site=lesion.body_site,
        body_view=lesion.body_view,
        map_x=lesion.map_x,
        map_y=lesion.map_y,
    )
    call("lesions.lesions_update", client=api, lesion_pk=lesion_id, body=body)
    call("images.lesions_images_list", client=api, lesion_pk=lesion_id)
    call("images.images_retrieve", client=api, image_pk=image_id)
    assert call("images.images_file_retrieve", client=api, image_pk=image_id).content[:2] == (
        b"\xff\xd8"
    )
    call("reviews.analyses_reviews_list", client=api, analysis_pk=analysis_id)
    queued = call("analyses.images_analyses_create", client=api, image_pk=image_id)
    assert queued.status_code == 202 and queued.headers["Location"]
    pending = call(
        "predict.predict_create",
        client=api,
        body=PredictRequest(
            image=File(payload=sample_bytes("nv"), file_name="nv.jpg", mime_type="image/jpeg")
        ),
    )
    assert pending.status_code == 202 and pending.headers["Location"]  # DERMASCAN_PREDICT_WAIT=0
    deadline = time.monotonic() + 90
    while True:
        done = call("predict.predict_retrieve", client=api, job_id=pending.parsed.job)
        if done.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert done.status_code == 200

    # A second device of this user, signed out from the first.
    second_login = LoginRequest(username=username, password=TEST_PASSWORD, device_name="second")
    call("auth.auth_login_create", client=anonymous, body=second_login)
    devices = call("auth.auth_devices_list", client=api).parsed.results
    second = next(d for d in devices if d.device_name == "second")
    call("auth.auth_devices_destroy", client=api, device_key=second.key)

    # Two-factor sign-in in two steps, then sign that user out everywhere.
    user = ClinicianFactory()
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    first = importlib.import_module("dermascan_client.api.auth.auth_login_create")
    login = LoginRequest(username=user.username, password=TEST_PASSWORD, device_name="2fa")
    challenge = first.sync_detailed(client=anonymous, body=login)
    assert challenge.status_code == 401 and challenge.parsed.error.code == "otp_required"
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    answer = LoginOTPRequest(
        challenge=challenge.parsed.challenge, otp_token=f"{totp.token():0{device.digits}d}"
    )
    signed_in = call("auth.auth_login_otp_create", client=anonymous, body=answer).parsed
    theirs = AuthenticatedClient(base_url=base_url, token=signed_in.token, prefix="Token")
    call("auth.auth_logout_all_create", client=theirs)

    interop_and_monitoring(api, username, patient_id, lesion_id, analysis_id)

    doomed = call("lesions.patients_lesions_create", client=api, patient_pk=patient_id, body=body)
    call("lesions.lesions_destroy", client=api, lesion_pk=doomed.parsed.id)
    call("images.images_destroy", client=api, image_pk=image_id)
    other = PatientRequest(
        medical_record_number="GEN-2", family_name="Other", date_of_birth=datetime.date(1990, 1, 1)
    )
    created = call("patients.patients_create", client=api, body=other).parsed
    call("patients.patients_destroy", client=api, patient_pk=created.id)


def interop_and_monitoring(api, username, patient_id, lesion_id, analysis_id):
    """The FHIR exports, the PACS sends and the clinic's monitoring figures."""
    from django.contrib.auth.models import Permission

    from lesions.models import User

    for module, key, pk in [
        ("patients_fhir_retrieve", "patient_pk", patient_id),
        ("lesions_fhir_retrieve", "lesion_pk", lesion_id),
        ("analyses_fhir_retrieve", "analysis_pk", analysis_id),
    ]:
        bundle = call(f"interoperability.{module}", client=api, **{key: pk})
        assert json.loads(bundle.content)["resourceType"] == "Bundle"
    call("interoperability.patients_pacs_sends_list", client=api, patient_pk=patient_id)
    # No PACS is configured here: the documented answer is 409, through the client too.
    send = importlib.import_module(
        "dermascan_client.api.interoperability.patients_pacs_sends_create"
    )
    CALLED.add("interoperability.patients_pacs_sends_create")
    assert send.sync_detailed(client=api, patient_pk=patient_id).status_code == 409

    user = User.objects.get(username=username)
    user.user_permissions.add(Permission.objects.get(codename="view_monitoring"))
    call("monitoring.monitoring_clinics_retrieve", client=api, clinic_pk=user.clinic_id)
    call("monitoring.monitoring_clinics_outcomes_retrieve", client=api, clinic_pk=user.clinic_id)
