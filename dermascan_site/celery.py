"""The Celery application: configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery

from lesions.heartbeat import Heartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dermascan_site.settings")

app = Celery("dermascan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each worker writes a heartbeat row that the health check reads (lesions.heartbeat).
app.steps["worker"].add(Heartbeat)
