"""Workers say they are alive by writing a heartbeat row; the health check only reads it.

A Celery bootstep in each worker's main process writes ``WorkerHeartbeat`` at start, every
``DERMASCAN_HEARTBEAT_INTERVAL`` seconds on the worker's own timer, and deletes it on a
clean shutdown. Pinging workers from the health check instead would make every check wait
for the slowest worker (about a second) and load the broker with broadcasts.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps

logger = logging.getLogger(__name__)


def write_heartbeat(hostname: str, queues: str) -> None:
    """Record that ``hostname`` is alive now. Never raises: a worker must not die of it."""
    from django.db import connection
    from django.utils import timezone

    from lesions.models import WorkerHeartbeat

    try:
        WorkerHeartbeat.objects.update_or_create(
            hostname=hostname[:200], defaults={"queues": queues[:200], "beat_at": timezone.now()}
        )
    except Exception:  # the database is down: the health check will notice the silence
        logger.warning("Could not write the heartbeat of %s", hostname, exc_info=True)
    finally:
        # The main worker process forks pool children; it keeps no connection between beats.
        connection.close()


def record_served_model(hostname: str, *, backend: str, model_id: str) -> None:
    """A worker process loaded ``model_id`` on ``backend``; the health check shows it."""
    from django.utils import timezone

    from lesions.models import WorkerHeartbeat

    try:
        WorkerHeartbeat.objects.update_or_create(
            hostname=hostname[:200],
            defaults={"backend": backend, "model_id": model_id[:200], "beat_at": timezone.now()},
        )
    except Exception:  # as for the beat itself: never the reason a worker dies
        logger.warning("Could not record the model served by %s", hostname, exc_info=True)


def forget_heartbeat(hostname: str) -> None:
    from django.db import connection

    from lesions.models import WorkerHeartbeat

    try:
        WorkerHeartbeat.objects.filter(hostname=hostname).delete()
    except Exception:
        logger.warning("Could not remove the heartbeat of %s", hostname, exc_info=True)
    finally:
        connection.close()


class Heartbeat(bootsteps.StartStopStep):
    """Worker bootstep: a heartbeat row per worker, refreshed on the worker's timer."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker: Any) -> None:
        from django.conf import settings

        consumed = worker.app.amqp.queues
        queues = ",".join(sorted(consumed.consume_from or consumed))
        write_heartbeat(worker.hostname, queues)
        self.tref = worker.timer.call_repeatedly(
            settings.DERMASCAN_HEARTBEAT_INTERVAL,
            write_heartbeat,
            (worker.hostname, queues),
            priority=10,
        )

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        forget_heartbeat(worker.hostname)
