"""Reads for the pages and the API, one module per entity read. Every lookup is scoped to the
user's clinic, so a record of another clinic is indistinguishable from one that does not exist
(404)."""

from .analyses import (
    get_analysis_for,
    get_analysis_with_reviews,
    images_analysed_by_older_models,
    served_model_sha256,
)
from .images import ComparedImage, Comparison, compare_images, get_image_for, newest_result_of
from .lesions import (
    ImageAnalysis,
    TimelineEntry,
    VisitRow,
    get_lesion_for,
    get_lesion_overview_for,
    image_analyses,
    latest_result_state,
    lesion_changes,
    lesion_timeline,
    lesion_visits,
    lesions_of,
    newest_analyses_of,
    visit_of,
    visit_rows,
)
from .patients import (
    STATE_CONCERN,
    count_of,
    get_patient_for,
    get_patient_overview_for,
    next_visit_of,
    patient_figures,
    patients_for,
    with_latest_risk,
)
from .reviews import review_agreement, reviews_for, reviews_of, reviews_prefetch

__all__ = [
    "ComparedImage",
    "Comparison",
    "ImageAnalysis",
    "STATE_CONCERN",
    "TimelineEntry",
    "VisitRow",
    "compare_images",
    "count_of",
    "get_analysis_for",
    "get_analysis_with_reviews",
    "get_image_for",
    "get_lesion_for",
    "get_lesion_overview_for",
    "get_patient_for",
    "get_patient_overview_for",
    "image_analyses",
    "images_analysed_by_older_models",
    "latest_result_state",
    "lesion_changes",
    "lesion_timeline",
    "lesion_visits",
    "lesions_of",
    "newest_analyses_of",
    "newest_result_of",
    "next_visit_of",
    "patient_figures",
    "patients_for",
    "review_agreement",
    "reviews_for",
    "reviews_of",
    "reviews_prefetch",
    "served_model_sha256",
    "visit_of",
    "visit_rows",
    "with_latest_risk",
]
