"""The Celery application: configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery

from lesions.pipeline.heartbeat import Heartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dermascan_site.settings")

app = Celery("dermascan")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Tasks live in lesions.pipeline.tasks (the analysis pipeline's package), interop.tasks and
# monitoring.tasks.
app.autodiscover_tasks(["lesions.pipeline", "interop", "monitoring"])
# Each worker writes a heartbeat row that the health check reads (lesions.pipeline.heartbeat).
app.steps["worker"].add(Heartbeat)
