from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Depends on ``lesions`` (the records it watches) and ``classifier`` (the served model)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "monitoring"
