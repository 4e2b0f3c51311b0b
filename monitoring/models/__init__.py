"""Monitoring's records: alerts, champion/challenger reports and activation overrides."""

from .alert import Alert, AlertKind, AlertQuerySet
from .retraining import ActivationOverride, ChallengerReport

__all__ = ["ActivationOverride", "Alert", "AlertKind", "AlertQuerySet", "ChallengerReport"]
