"""GET /health/ and /api/health/: is everything an analysis needs up?

For load balancers and operators. Cheap by design: it reads the heartbeat rows the workers
write (``lesions.pipeline.heartbeat``) instead of pinging them, at most once a second per process,
and the broker and model checks are remembered for a few seconds, so a check costs one small
query a second however often it is called. Anonymous callers get the
overall status only; staff (session) and API token holders also get the components
(worker names, database vendor, queue depth, model identity), which help an attacker.

200 when the database, the broker, at least one inference worker and the model are fine;
503 (with the same JSON shape) otherwise.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dermascan_site.celery import app as celery_app

MISSED_BEATS = 3  # a worker is gone after this many heartbeat intervals without one
REMEMBER_SECONDS = 5.0  # how long a broker or model check is reused
# The heartbeat read: a load balancer or a monitor storm costs the database one query a
# second per web process; the beats themselves are DERMASCAN_HEARTBEAT_INTERVAL apart.
DATABASE_REMEMBER_SECONDS = 1.0

T = TypeVar("T")


class _Remembered(Generic[T]):
    """A check's last result, reused for ``seconds`` (per process, thread-safe)."""

    def __init__(self, check: Callable[[], T], seconds: float = REMEMBER_SECONDS) -> None:
        self.check = check
        self.seconds = seconds
        self.lock = threading.Lock()
        self.value: T | None = None
        self.at = 0.0

    def __call__(self) -> T:
        with self.lock:
            if self.value is None or time.monotonic() - self.at > self.seconds:
                self.value, self.at = self.check(), time.monotonic()
            return self.value

    def forget(self) -> None:
        with self.lock:
            self.value = None


def health_report(*, detailed: bool) -> tuple[dict, bool]:
    """The health body and whether everything is fine."""
    started = time.monotonic()
    database, workers = remembered_database()
    broker = remembered_broker()
    model = remembered_model() if database["status"] == "ok" else {"status": "unknown"}
    healthy = (
        database["status"] == "ok"
        and broker["status"] == "ok"
        and any("inference" in worker["queues"] for worker in workers)
        and model["status"] == "ok"
    )
    body: dict = {"status": "ok" if healthy else "unhealthy"}
    if detailed:
        body.update(
            database=database,
            broker=broker,
            workers=workers,
            model=model,
            analyses=analysis_counts() if database["status"] == "ok" else {},
            checked_in_ms=round((time.monotonic() - started) * 1000),
        )
    return body, healthy


def check_database_and_workers() -> tuple[dict, list[dict]]:
    """One query: it proves the database answers and lists the workers alive."""
    from lesions.models import WorkerHeartbeat

    interval = settings.DERMASCAN_HEARTBEAT_INTERVAL
    since = timezone.now() - datetime.timedelta(seconds=MISSED_BEATS * interval)
    try:
        beats = list(
            WorkerHeartbeat.objects.filter(beat_at__gte=since)
            .order_by("hostname")
            .values("hostname", "queues", "beat_at", "backend", "model_id")
        )
    except Exception as exc:  # any driver error means "down" here
        return {"status": "error", "error": type(exc).__name__}, []
    workers = [
        {
            "name": beat["hostname"],
            "queues": beat["queues"].split(","),
            "seconds_since_heartbeat": round((timezone.now() - beat["beat_at"]).total_seconds()),
            # "" until one of its processes has loaded the model
            "backend": beat["backend"],
            "model_id": beat["model_id"],
        }
        for beat in beats
    ]
    return {"status": "ok", "vendor": connection.vendor}, workers


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


remembered_database = _Remembered(check_database_and_workers, DATABASE_REMEMBER_SECONDS)
remembered_broker = _Remembered(check_broker)
remembered_model = _Remembered(served_model_state)


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


def monitoring_alerts(user) -> dict:
    from monitoring.selectors import alert_summary

    try:
        return alert_summary(user)
    except Exception as exc:  # the health answer must not fail on monitoring's account
        return {"status": "error", "error": type(exc).__name__}


def may_see_details(request: Request) -> bool:
    """Staff signed in to the site, or any caller with a valid API token."""
    user = request.user
    return bool(user and user.is_authenticated and (user.is_staff or request.auth is not None))


def _component(name: str, fields: dict) -> serializers.Serializer:
    """A component's check: its ``status`` and, when it is not ok, the ``error``."""
    checks = {
        "status": serializers.ChoiceField(choices=["ok", "error", "unknown"]),
        "error": serializers.CharField(required=False),
    }
    return inline_serializer(name, {**checks, **fields}, required=False)


# Everything the check can answer: the status always; the components only for a token holder
# or staff (absent otherwise, so not required), each exactly as health_report() builds it.
HealthStatus = inline_serializer(
    "HealthStatus",
    {
        "status": serializers.ChoiceField(choices=["ok", "unhealthy"]),
        "database": _component("HealthDatabase", {"vendor": serializers.CharField(required=False)}),
        "broker": _component(
            "HealthBroker",
            {
                "transport": serializers.CharField(required=False),
                "inference_queue": serializers.IntegerField(required=False, allow_null=True),
            },
        ),
        "workers": inline_serializer(
            "HealthWorker",
            {
                "name": serializers.CharField(),
                "queues": serializers.ListField(child=serializers.CharField()),
                "seconds_since_heartbeat": serializers.IntegerField(),
                "backend": serializers.CharField(),
                "model_id": serializers.CharField(),
            },
            many=True,
            required=False,
        ),
        "model": _component(
            "HealthModel",
            {
                "source": serializers.ChoiceField(choices=["version", "default"], required=False),
                "version": serializers.IntegerField(required=False, allow_null=True),
                "model_id": serializers.CharField(required=False),
                "arch": serializers.CharField(required=False),
                "classes": serializers.IntegerField(required=False),
                "weights_sha256": serializers.CharField(required=False),
            },
        ),
        "analyses": inline_serializer(
            "HealthAnalyses",
            {
                # empty when the database is down
                "queued": serializers.IntegerField(required=False),
                "running": serializers.IntegerField(required=False),
                "oldest_queued_seconds": serializers.IntegerField(required=False, allow_null=True),
            },
            required=False,
        ),
        "checked_in_ms": serializers.IntegerField(required=False),
    },
)


class HealthView(APIView):
    """No authentication needed; a token or a staff session adds the details."""

    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        summary="Service health",
        description=(
            "`ok` (200) when the database, the broker, an inference worker and the model are "
            "fine, `unhealthy` (503) otherwise. Anonymous callers get the status only; with a "
            "token the answer also lists the components."
        ),
        responses={200: HealthStatus, 503: HealthStatus},
        examples=[OpenApiExample("Healthy", value={"status": "ok"}, response_only=True)],
        tags=["health"],
    )
    def get(self, request: Request) -> Response:
        detailed = may_see_details(request)
        body, healthy = health_report(detailed=detailed)
        if detailed and request.user.is_staff:
            # Monitoring's open alerts (staff only; clinics as the user may monitor them).
            # They do not make the service unhealthy: the model is serving, it is being watched.
            body["monitoring"] = monitoring_alerts(request.user)
        response = Response(body, status=200 if healthy else 503)
        response["Cache-Control"] = "no-store"
        return response


class SiteHealthView(HealthView):
    """The same check at /health/, where load balancers look; described once, under /api/."""

    schema = None


health = SiteHealthView.as_view()
api_health = HealthView.as_view()
