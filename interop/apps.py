from django.apps import AppConfig


class InteropConfig(AppConfig):
    """Depends on ``lesions`` only: it exports the clinical records, it owns none of them."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "interop"
