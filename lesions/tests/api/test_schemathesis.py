"""Schemathesis against the live schema: generated requests to every operation (a bounded
number each), valid and invalid ones (``--mode all``: negative testing), and sequences that
follow the links it learns from ``Location`` headers (the stateful phase), never get a 5xx,
and every response matches the schema.

It runs the schemathesis command line against a live server with a real worker (the
health check and the quick check need one), signed in with a device token.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lesions.models import WorkerHeartbeat
from lesions.tests.api.conftest import token_for
from lesions.tests.factories import ClinicianFactory, LesionImageFactory
from lesions.tests.workers import PROCESS_DEADLINE, requires_worker_stack, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), *requires_worker_stack()]

MAX_EXAMPLES = 3  # per operation and phase
MAX_SECONDS = 45  # the whole run's budget (it stops generating, then reports)


def test_no_server_errors_and_every_response_matches_the_schema(
    live_server, inference_worker, pipeline_media, tmp_path
):
    clinician = ClinicianFactory()
    # A few real records, so that some generated ids (1, 2, ...) are found.
    LesionImageFactory(lesion__patient__clinic=clinician.clinic, uploaded_by=clinician)
    token = token_for(clinician, "schemathesis")
    # The health check answers 503 until the worker's heartbeat is back after the last
    # test emptied the tables; schemathesis counts any 5xx as a failure.
    wait_until(WorkerHeartbeat.objects.exists, timeout=PROCESS_DEADLINE)
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [str(st), "run", f"{live_server.url}/api/schema/?format=json"]
        + ["--url", live_server.url, "--header", f"Authorization: Token {token}"]
        + ["--checks", "not_a_server_error,response_schema_conformance,status_code_conformance"]
        + ["--checks", "content_type_conformance,response_headers_conformance"]
        + ["--max-examples", str(MAX_EXAMPLES), "--max-time", str(MAX_SECONDS)]
        + ["--phases", "examples,coverage,fuzzing,stateful", "--mode", "all"]
        + ["--seed", "8", "--no-shrink"]
        # One worker: generation in parallel threads trips over hypothesis's source cache.
        + ["--workers", "1", "--request-timeout", "30", "--no-color"]
        # Signing out would revoke the token the run uses; the auth tests cover it.
        + ["--exclude-path-regex", "logout|/auth/devices/\\{"]
        + ["--report", "junit", "--report-dir", str(tmp_path)]
        + ["--generation-database", "none"],
        cwd=tmp_path,  # schemathesis keeps a cache in its working directory
        capture_output=True,
        text=True,
        timeout=MAX_SECONDS + 120,
    )
    (tmp_path / "schemathesis.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "generated" in result.stdout
