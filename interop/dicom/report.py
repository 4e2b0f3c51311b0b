"""The AI result as a DICOM Comprehensive SR (highdicom), in the visit's study.

An Imaging Measurement Report (TID 1500) with one measurement group (TID 1501) per result:
the lesion as its tracking identifier (the same UID at every visit), the body site as the
finding site, the model as the observer device and the algorithm (TID 4019), each class
probability as a measurement (UCUM "1"), and the result state, risk level and top class as
qualitative evaluations. Classes, states and risk levels have no standard codes: they use
the local coding scheme ``99DERMASCAN`` (PS3.16 8.2: "99" marks a private scheme).
"""

from __future__ import annotations

import highdicom as hd
from pydicom import Dataset
from pydicom.sr.codedict import codes

from interop.body_sites import SNOMED_DICOM, site_code
from interop.dicom import uids
from interop.dicom.images import MODALITY, with_file_meta
from lesions.models import Analysis, ResultState

LOCAL_SCHEME = "99DERMASCAN"
REPORT_SERIES_NUMBER = 900


def local(code: str, meaning: str) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(value=code[:16], scheme_designator=LOCAL_SCHEME, meaning=meaning[:64])


def analysis_report(analysis: Analysis, image_ds: Dataset) -> Dataset:
    image = analysis.image
    lesion = image.lesion
    model_name = analysis.model_id or "DermaScan classifier"
    version = analysis.model_version.name if analysis.model_version else "default"
    algorithm = hd.sr.AlgorithmIdentification(name=model_name, version=version)
    device = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=uids.device_uid(analysis.model_sha256 or model_name),
            name=model_name[:64],
            manufacturer_name="DermaScan",
            model_name=version[:64],
        ),
    )
    site = site_code(lesion.body_site)
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=uids.lesion_tracking_uid(lesion.pk), identifier=f"Lesion {lesion.number}"
        ),
        finding_type=codes.SCT.Lesion,
        algorithm_id=algorithm,
        finding_sites=[hd.sr.FindingSite(hd.sr.CodedConcept(site.code, SNOMED_DICOM, site.meaning))]
        if site
        else None,
        measurements=_probabilities(analysis, algorithm) or None,
        qualitative_evaluations=_evaluations(analysis),
        source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(image_ds)],
    )
    modality = MODALITY[image.modality]
    content = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=device),
        procedure_reported=hd.sr.CodedConcept(modality, "DCM", _PROCEDURE[modality]),
        imaging_measurements=[group],
        title=codes.DCM.ImagingMeasurementReport,
    )
    report = hd.sr.ComprehensiveSR(
        evidence=[image_ds],
        content=content,
        series_instance_uid=uids.report_series_uid(lesion.patient_id, image.captured_on),
        series_number=REPORT_SERIES_NUMBER,
        sop_instance_uid=uids.report_uid(analysis.pk),
        instance_number=analysis.pk,
        manufacturer="DermaScan",
        is_complete=True,
        # A model's output is never a verified clinical finding.
        is_final=False,
        is_verified=False,
    )
    report.SeriesDescription = "AI analysis (decision support, not a diagnosis)"
    report.ContentDate = image_ds.ContentDate
    report.ContentTime = "000000"
    return with_file_meta(report, report.file_meta.TransferSyntaxUID)


_PROCEDURE = {"DMS": "Dermoscopy", "XC": "External-camera Photography"}


def _probabilities(analysis: Analysis, algorithm) -> list[hd.sr.Measurement]:
    if analysis.result_state == ResultState.NOT_ASSESSABLE:
        return []  # no class, no risk (DESIGN: result states)
    return [
        hd.sr.Measurement(
            name=local(f"p-{code}", f"Probability of class {code}"),
            value=round(float(value), 6),
            unit=codes.UCUM.NoUnits,
            algorithm_id=algorithm,
        )
        for code, value in sorted(analysis.probabilities.items())
    ]


def _evaluations(analysis: Analysis) -> list[hd.sr.QualitativeEvaluation]:
    state = ResultState(analysis.result_state)
    found = [
        hd.sr.QualitativeEvaluation(
            local("result-state", "Result state"), local(f"state-{state.value}", state.label)
        )
    ]
    if state == ResultState.NOT_ASSESSABLE:
        return found
    if analysis.risk_level:
        risk = analysis.risk_level
        found.append(
            hd.sr.QualitativeEvaluation(
                local("risk-level", "Risk level"), local(f"risk-{risk}", f"{risk.title()} risk")
            )
        )
    if analysis.top_class:
        top = local(f"class-{analysis.top_class}", analysis.top_class_display or analysis.top_class)
        found.append(hd.sr.QualitativeEvaluation(local("top-class", "Most likely class"), top))
    return found
