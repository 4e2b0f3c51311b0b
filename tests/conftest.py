# The clinical fixtures (clinics, clinicians, staff, per-test media folder) for site-wide tests.
from lesions.tests.conftest import (  # noqa: F401
    clinic,
    clinician,
    clinician_client,
    media_root,
    other_clinician,
    page,
    staff,
    staff_client,
)

# A real S3-compatible server (SeaweedFS) and per-test buckets for the S3 storage tests.
from lesions.tests.s3 import s3, s3_server  # noqa: F401

# Real Celery workers on a private Redis, and a real model artifact.
from lesions.tests.workers import (  # noqa: F401
    model_artifact,
    pipeline_media_root,
    worker_stack,
)
