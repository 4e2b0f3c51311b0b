"""Exchange with hospital systems: FHIR R4 bundles for the record, DICOM objects sent to a PACS."""
