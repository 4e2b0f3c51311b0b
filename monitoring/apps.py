from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Depends on ``lesions`` (the records it watches) and ``classifier`` (the served model)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "monitoring"

    def ready(self) -> None:
        from classifier.services import register_activation_guard
        from monitoring.services.retraining import check_activation

        # Every activation (admin, commands, scripts) passes the retraining guard.
        register_activation_guard(check_activation)
