"""The printable patient report: what it contains (a read) and its PDF (WeasyPrint).

Images are embedded as data: URIs, so the same HTML prints from the browser and renders
to PDF without WeasyPrint fetching anything over HTTP (the image views need a session).
"""

from __future__ import annotations

import base64
import datetime
import re
from dataclasses import dataclass
from functools import lru_cache

from django.contrib.staticfiles import finders
from django.db.models import FileField
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from lesions.follow_up.charts import TrendChart, trend_chart
from lesions.models import Analysis, Lesion, LesionImage, Patient, Review, User
from lesions.selectors import lesion_visits, lesions_of, newest_result_of, next_visit_of

FIGURE_WIDTH, FIGURE_HEIGHT = 200, 470  # body-map.svg: each view's figure, in its units


@dataclass(frozen=True)
class ReportLesion:
    number: int
    lesion: Lesion
    image: LesionImage | None
    image_uri: str
    analysis: Analysis | None
    heatmap_uri: str
    chart: TrendChart | None
    review: Review | None


@dataclass(frozen=True)
class Report:
    patient: Patient
    lesions: list[ReportLesion]
    body_map: SafeString
    model_names: list[str]
    generated_by: User
    generated_at: datetime.datetime
    next_visit_on: datetime.date | None


def build_report(patient: Patient, *, generated_by: User) -> Report:
    """Everything the report shows, numbered like the patient page's body map."""
    lesions = list(lesions_of(patient))
    entries = []
    for lesion in lesions:
        image = lesion.images.order_by("-captured_on", "-created_at", "-pk").first()
        analysis = newest_result_of(image) if image else None
        review = analysis.reviews.select_related("reviewer").first() if analysis else None
        entries.append(
            ReportLesion(
                number=lesion.number,  # stable: the same number as on every page
                lesion=lesion,
                image=image,
                image_uri=_data_uri(image.thumbnail or image.file) if image else "",
                analysis=analysis,
                heatmap_uri=_data_uri(analysis.heatmap) if analysis and analysis.heatmap else "",
                chart=trend_chart(lesion_visits(lesion)),
                review=review,
            )
        )
    models = sorted(
        {
            f"v{e.analysis.model_version.number} {e.analysis.model_version.name}"
            if e.analysis.model_version
            else f"{e.analysis.model_id} (default)"
            for e in entries
            if e.analysis
        }
    )
    return Report(
        patient=patient,
        lesions=entries,
        body_map=body_map_svg(entries),
        model_names=models,
        generated_by=generated_by,
        generated_at=timezone.localtime(),
        next_visit_on=next_visit_of(lesions),
    )


def render_pdf(html: str) -> bytes:
    return _weasyprint_html()(string=html, base_url=None).write_pdf()


def report_pdf(
    patient: Patient, *, generated_by: User, request: HttpRequest | None = None
) -> bytes:
    """The patient's report as PDF: the printable page's HTML rendered by WeasyPrint (the
    page's PDF download and the API's). Generating it is audited by the caller."""
    report = build_report(patient, generated_by=generated_by)
    html = render_to_string(
        "lesions/patient_report.html", {"report": report, "standalone": True}, request=request
    )
    return render_pdf(html)


def report_filename(patient: Patient) -> str:
    """``dermascan-report-<record number>.pdf``, safe in a Content-Disposition header."""
    name = f"dermascan-report-{patient.medical_record_number}.pdf"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


@lru_cache(maxsize=1)
def _weasyprint_html():
    """WeasyPrint's HTML class, imported on first use: it loads Pango, which only the PDF needs.

    Importing WeasyPrint sets Pillow's process-wide ``LOAD_TRUNCATED_IMAGES``; left on, the
    upload validation and the engine would then accept truncated images. The report embeds
    only complete stored images, so the flag is put back as it was.
    """
    from PIL import ImageFile

    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        from weasyprint import HTML
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous
    return HTML


def body_map_svg(entries: list[ReportLesion]) -> SafeString:
    """The body-map figure with a numbered marker per lesion, inline (prints and renders)."""
    svg = _body_map_source()
    offsets = {
        view: (float(x), float(y))
        for view, x, y in re.findall(
            r'data-view="(\w+)"[^>]*transform="translate\(([\d.]+),([\d.]+)\)"', svg
        )
    }
    markers = []
    for entry in entries:
        lesion = entry.lesion
        dx, dy = offsets.get(lesion.body_view, (0.0, 0.0))
        x, y = dx + lesion.map_x * FIGURE_WIDTH, dy + lesion.map_y * FIGURE_HEIGHT
        fill = "#b3261e" if lesion.evolving else "#0b6e6e"
        markers.append(
            f'<g><circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="{fill}" stroke="#fff" '
            f'stroke-width="2"/><text x="{x:.1f}" y="{y + 3.5:.1f}" font-size="10" '
            f'font-weight="700" text-anchor="middle" fill="#fff">{entry.number}</text></g>'
        )
    svg = svg.replace("<svg ", '<svg width="100%" ', 1)
    return mark_safe(svg.replace("</svg>", "".join(markers) + "</svg>"))  # noqa: S308 (our file)


@lru_cache(maxsize=1)
def _body_map_source() -> str:
    path = finders.find("img/body-map.svg")
    with open(path, encoding="utf-8") as handle:
        svg = handle.read()
    # The page's stylesheet colours the figure; the report carries its own colours.
    svg = svg.replace(
        'class="body-map__part"', 'class="body-map__part" fill="#efd9c8" stroke="#a4806a"'
    )
    return svg.replace(
        'class="body-map__frame"', 'class="body-map__frame" fill="none" stroke="#d8dde3"'
    )


def _data_uri(stored: FileField) -> str:
    try:
        with stored.storage.open(stored.name, "rb") as handle:
            data = handle.read()
    except (FileNotFoundError, ValueError):
        return ""
    mime = "image/png" if stored.name.lower().endswith(".png") else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
