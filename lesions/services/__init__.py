"""Writes to the clinical records. Views, the API, the admin and commands call these only."""

from .analyses import reanalyse_images, reanalyse_outdated_images, request_analysis
from .audit import record_event, record_report, record_view
from .devices import sign_in_device, sign_out_device, sign_out_everywhere
from .follow_up import refresh_follow_up, set_next_review, use_suggested_review
from .images import add_lesion_image, delete_lesion_image
from .lesions import create_lesion, delete_lesion, update_lesion
from .patients import create_patient, delete_patient, update_patient
from .reviews import record_review

__all__ = [
    "add_lesion_image",
    "create_lesion",
    "create_patient",
    "delete_lesion",
    "delete_lesion_image",
    "delete_patient",
    "reanalyse_images",
    "reanalyse_outdated_images",
    "refresh_follow_up",
    "record_event",
    "record_report",
    "record_review",
    "record_view",
    "request_analysis",
    "set_next_review",
    "sign_in_device",
    "sign_out_device",
    "sign_out_everywhere",
    "update_lesion",
    "update_patient",
    "use_suggested_review",
]
