from django.db import models


class WorkerHeartbeat(models.Model):
    """The last sign of life of a Celery worker, written by the worker itself every few
    seconds (see ``lesions.heartbeat``). The health check reads these rows instead of
    pinging workers, so it answers in milliseconds whatever the workers are doing."""

    hostname = models.CharField(max_length=200, unique=True)
    queues = models.CharField(max_length=200, blank=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
