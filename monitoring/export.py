"""The CSV export of a clinic's monitoring: aggregates only (docs/monitoring.md).

One row per figure: section, model, figure, count, total, value, 95 % interval. No patient,
lesion or analysis identifier is written, and the misses list (clinical) is left out.
"""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from django.utils.text import slugify

from monitoring.selectors.report import ClinicReport
from monitoring.statistics import Proportion

HEADER = ["section", "model", "figure", "count", "total", "value", "low_95", "high_95"]


def _proportion_row(section: str, model: str, name: str, p: Proportion) -> list:
    return [section, model, name, p.successes, p.total, p.value, p.low, p.high]


def report_rows(report: ClinicReport) -> list[list]:
    rows: list[list] = []
    for f in report.figures:
        rows.append(["volume", f.label, "analyses", f.analyses, "", "", "", ""])
        for state in f.state_rows:
            rows.append(
                _proportion_row("result_state", f.label, state["state"], f.share(state["state"]))
            )
        rows.append(_proportion_row("uploads", f.label, "not_dermoscopic", f.not_dermoscopic_share))
        for reason, count in f.reasons:
            rows.append(["quality_reason", f.label, reason, count, f.analyses, "", "", ""])
        if f.drift is not None:
            rows.append(
                [
                    "drift",
                    f.label,
                    f"verdict: {f.drift.verdict}",
                    f.drift.analyses,
                    "",
                    f.drift.ks,
                    "",
                    "",
                ]
            )
            if f.drift.above_val_p95 is not None:
                rows.append(
                    _proportion_row("drift", f.label, "above_val_p95", f.drift.above_val_p95)
                )
    for o in report.outcomes:
        for name in (
            "melanoma_sensitivity",
            "melanoma_specificity",
            "malignant_sensitivity",
            "malignant_specificity",
        ):
            rows.append(_proportion_row("outcome", o.label, name, getattr(o, name)))
        for name, estimate in o.estimates.items():
            low, high = estimate["interval"] or (None, None)
            total = estimate.get(
                "cases", estimate.get("positives", 0) + estimate.get("negatives", 0)
            )
            rows.append(["outcome", o.label, name, "", total, estimate["value"], low, high])
    for condition in report.conditions:
        if condition.kind != "melanoma_missed":
            rows.append(["alert", condition.model_label, condition.kind, "", "", "", "", ""])
    missed = sum(c.kind == "melanoma_missed" for c in report.conditions)
    rows.append(["alert", "", "melanoma_missed (count)", missed, "", "", "", ""])
    return rows


def csv_response(report: ClinicReport) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["clinic", report.clinic.name, "period", report.period.start, report.period.end]
    )
    writer.writerow(HEADER)
    writer.writerows(report_rows(report))
    name = f"monitoring-{slugify(report.clinic.name)}-{report.period.start}-{report.period.end}.csv"
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
