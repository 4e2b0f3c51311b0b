"""GET /health/: is everything an analysis needs up? For load balancers and operators.

No login, and no patient data: only component states, worker names, the served model's
identity and queue counts. 200 when the database, the broker, at least one worker and the
model are fine; 503 (with the same JSON) otherwise.
"""

from __future__ import annotations

import time

from django.db import connection
from django.db.models import Count, Min
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dermascan_site.celery import app as celery_app

PING_TIMEOUT = 1.0  # seconds a worker has to answer the heartbeat ping


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    database = check_database()
    broker = check_broker()
    workers = ping_workers() if broker["status"] == "ok" else []
    model = served_model_state() if database["status"] == "ok" else {"status": "unknown"}
    healthy = (
        database["status"] == "ok"
        and broker["status"] == "ok"
        and bool(workers)
        and model["status"] == "ok"
    )
    body = {
        "status": "ok" if healthy else "unhealthy",
        "database": database,
        "broker": broker,
        "workers": workers,
        "model": model,
        "analyses": analysis_counts() if database["status"] == "ok" else {},
        "checked_in_ms": round((time.monotonic() - started) * 1000),
    }
    return JsonResponse(body, status=200 if healthy else 503)


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "down" here
        return {"status": "error", "error": type(exc).__name__}
    return {"status": "ok", "vendor": connection.vendor}


def check_broker() -> dict:
    try:
        with celery_app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            depth = _queue_depth(conn, "inference")
    except Exception as exc:  # kombu wraps transport errors in several types
        return {"status": "error", "error": type(exc).__name__}
    return {"status": "ok", "transport": conn.transport_cls, "inference_queue": depth}


def _queue_depth(conn, queue: str) -> int | None:
    try:
        return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
    except Exception:  # a queue nobody has used yet does not exist: nothing waiting
        return 0


def ping_workers() -> list[str]:
    """Names of the workers that answered the ping (their heartbeat), sorted."""
    try:
        replies = celery_app.control.ping(timeout=PING_TIMEOUT) or []
    except Exception:  # a transport without broadcast (the development folder broker)
        return []
    return sorted(name for reply in replies for name in reply)


def served_model_state() -> dict:
    from classifier.artifact import read_card
    from classifier.errors import ArtifactError
    from classifier.registry import served_model

    served = served_model()
    state = {
        "source": "version" if served.version else "default",
        "version": served.version.number if served.version else None,
    }
    try:
        card = read_card(served.directory)
    except ArtifactError:
        return {**state, "status": "error", "error": "the model's card cannot be read"}
    return {
        **state,
        "status": "ok",
        "model_id": card.model_id,
        "arch": card.arch,
        "classes": len(card.classes),
        "weights_sha256": card.weights_sha256[:12],
    }


def analysis_counts() -> dict:
    from lesions.models import Analysis, AnalysisStatus

    pending = Analysis.objects.pending()
    counts = dict(pending.values_list("status").annotate(n=Count("pk")).order_by())
    oldest = pending.filter(status=AnalysisStatus.QUEUED).aggregate(at=Min("enqueued_at"))["at"]
    return {
        "queued": counts.get(AnalysisStatus.QUEUED, 0),
        "running": counts.get(AnalysisStatus.RUNNING, 0),
        "oldest_queued_seconds": round((timezone.now() - oldest).total_seconds())
        if oldest
        else None,
    }
