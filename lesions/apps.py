from django.apps import AppConfig


class LesionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "lesions"
    verbose_name = "Clinical records"
