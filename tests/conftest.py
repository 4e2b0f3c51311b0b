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
