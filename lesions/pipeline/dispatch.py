"""Sending Celery tasks by name, so that the code that queues work never imports the tasks.

``lesions.pipeline.tasks`` imports the services (the worker's steps); the services send tasks
through here. The names are the tasks' registered names (``shared_task(name=...)``), and
``CELERY_TASK_ROUTES`` routes by name, so a task sent here lands on the same queue as one
sent with ``.delay()``.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from celery.result import AsyncResult

# Registered names predate the pipeline package; they stay, so queued messages keep routing.
RUN_ANALYSIS = "lesions.tasks.run_analysis"
PREDICT_IMAGE = "lesions.tasks.predict_image"


def send_task(name: str, *args: Any, keep_result: bool = False, **options: Any) -> AsyncResult:
    """Publish task ``name`` with positional ``args``; raises if the broker is unreachable.

    Unlike ``.delay()``, sending by name does not know the task's ``ignore_result``: without
    ``keep_result`` the sender neither waits for nor subscribes to a result (which would tie
    every upload to the result store, and stall it while Redis is down).
    """
    return current_app.send_task(name, args=args, ignore_result=not keep_result, **options)
