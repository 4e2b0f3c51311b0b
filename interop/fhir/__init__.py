"""FHIR R4 export: resources built as plain JSON, then validated by ``fhir.resources``'s R4B
models (R4B is FHIR 4.3, wire-compatible with R4 for every resource used here)."""

from .bundle import FHIR_CONTENT_TYPE, bundle_for

__all__ = ["FHIR_CONTENT_TYPE", "bundle_for"]
