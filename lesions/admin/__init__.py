"""The Django admin for the clinical records: one module per model family, each list scoped to the
clinic and every read of patient data audited (``scoping``)."""

from . import analyses, audit, clinics, images, records, reviews  # noqa: F401  (registers them)
