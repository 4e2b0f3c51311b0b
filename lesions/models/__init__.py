"""One module per entity (ImageMarkup/isic style); import models from here."""

from .analysis import PENDING_STATUSES, REVIEW_PRIORITY, Analysis, AnalysisStatus, ResultState
from .audit import AuditAction, AuditEvent, AuditTarget
from .clinic import Clinic, ClinicAudience
from .device_token import DeviceToken
from .lesion import BodySite, BodyView, ConfirmedDiagnosis, Lesion, LesionStatus
from .lesion_image import LesionImage, Modality
from .patient import FitzpatrickSkinType, Patient, Sex
from .review import ManagementDecision, Review, ReviewBasis, ReviewDiagnosis
from .user import User
from .worker_heartbeat import WorkerHeartbeat

__all__ = [
    "PENDING_STATUSES",
    "REVIEW_PRIORITY",
    "Analysis",
    "AnalysisStatus",
    "AuditAction",
    "AuditEvent",
    "AuditTarget",
    "BodySite",
    "BodyView",
    "Clinic",
    "ClinicAudience",
    "DeviceToken",
    "FitzpatrickSkinType",
    "Lesion",
    "LesionImage",
    "LesionStatus",
    "ConfirmedDiagnosis",
    "Modality",
    "Patient",
    "ManagementDecision",
    "ResultState",
    "Review",
    "ReviewBasis",
    "ReviewDiagnosis",
    "Sex",
    "User",
    "WorkerHeartbeat",
]
