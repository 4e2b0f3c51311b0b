from django.db import models


class WorkerHeartbeat(models.Model):
    """The last sign of life of a Celery worker, written by the worker itself every few
    seconds (see ``lesions.pipeline.heartbeat``). The health check reads these rows instead of
    pinging workers, so it answers in milliseconds whatever the workers are doing."""

    hostname = models.CharField(max_length=200, unique=True)
    queues = models.CharField(max_length=200, blank=True)
    beat_at = models.DateTimeField()
    # What the worker's processes serve, written by them once they have loaded the model
    # (the main process that beats never loads it): "onnx-int8", "onnx" (fp32) or "torch".
    backend = models.CharField(max_length=20, blank=True)
    model_id = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.hostname} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
