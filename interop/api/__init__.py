"""``/api/v1/`` endpoints of the interop app: FHIR exports and PACS sends."""
