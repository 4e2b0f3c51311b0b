"""Every write of monitoring: recording alerts, storing reports, guarding activation."""

from .alerts import acknowledge_alert, record_alerts
from .retraining import (
    ActivationRefused,
    check_activation,
    override_activation_guard,
    store_challenger_report,
)

__all__ = [
    "ActivationRefused",
    "acknowledge_alert",
    "check_activation",
    "override_activation_guard",
    "record_alerts",
    "store_challenger_report",
]
