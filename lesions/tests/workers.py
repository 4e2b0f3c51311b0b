"""Real Celery worker, beat and Redis processes for the pipeline tests.

The worker runs as ``celery -A dermascan_site worker`` in its own process group and talks to
the same PostgreSQL test database, the same media folder and a private Redis server as the
test process. Data a worker must see has to be committed: those tests use
``transactional_db``. Worker start-ups cost seconds, so the shared worker is started once
per session and only tests that kill or break a worker start their own.

Every process started here runs in its own process group and is stopped by that group
(the worker's pool children with it): by the fixture that started it, on failure too, and,
should a fixture never reach its teardown, when the test process exits.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.db import connection

from dermascan_site.celery import app as celery_app

REPO = Path(settings.BASE_DIR)
REDIS_SERVER = shutil.which("redis-server")

# Short timeouts so that recovery paths happen within a test's patience.
WORKER_ENV = {
    "DERMASCAN_ANALYSIS_TIME_LIMIT": "40",
    "DERMASCAN_ANALYSIS_SOFT_TIME_LIMIT": "30",
    "CELERY_VISIBILITY_TIMEOUT": "4",  # redelivery of a dead worker's message...
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",  # ...looked for every second
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
    "DERMASCAN_ANALYSIS_QUEUED_TIMEOUT": "2",
    "DERMASCAN_SWEEP_INTERVAL": "1",
    "DERMASCAN_INFERENCE_THREADS": "1",
    # Transactional tests empty the heartbeat table between tests; the worker refills it fast.
    "DERMASCAN_HEARTBEAT_INTERVAL": "1",
}


# Process groups started by this test process and not stopped yet (see stop_process_group).
_running_groups: set[int] = set()
STOP_GRACE_SECONDS = 15.0  # a group gets this long to stop on SIGTERM, then SIGKILL


def start_process_group(command: list[str], **popen: Any) -> subprocess.Popen:
    """Start ``command`` as the leader of a new process group, remembered until stopped."""
    process = subprocess.Popen(command, start_new_session=True, **popen)
    _running_groups.add(process.pid)
    return process


def stop_process_group(process: subprocess.Popen, *, sig: int = signal.SIGTERM) -> None:
    """Signal the whole group, wait, and SIGKILL it if it does not stop in time."""
    try:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        # Pool children that outlived their parent are still in the group.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    finally:
        _running_groups.discard(process.pid)


@atexit.register
def _stop_leftover_groups() -> None:
    """Last resort (a fixture that failed before its teardown, an interrupted run)."""
    for group in list(_running_groups):
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    _running_groups.clear()


def requires_worker_stack() -> list[pytest.MarkDecorator]:
    """Marks for tests that run real workers: PostgreSQL (shared by processes) and Redis."""
    return [
        pytest.mark.slow,
        pytest.mark.skipif(
            settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
            reason="worker tests share the test database: set DATABASE_URL to PostgreSQL",
        ),
        pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed"),
    ]


def needs_worker_stack(test: Callable) -> Callable:
    """Decorator form of ``requires_worker_stack()`` for a single test in a mixed module."""
    for mark in requires_worker_stack():
        test = mark(test)
    return test


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# How long a test waits for another process (a worker, a server) to reach a state. It is
# a deadline, not a delay: waits end as soon as the state is reached, so a generous one
# costs nothing when the machine is quiet and spares a false failure when it is loaded.
PROCESS_DEADLINE = float(os.environ.get("DERMASCAN_TEST_PROCESS_DEADLINE", "180"))


def wait_until(condition: Callable[[], Any], *, timeout: float, interval: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {condition.__doc__ or condition}")
        time.sleep(interval)


class RedisServer:
    """A private redis-server on its own port, which a test may stop and start again."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = start_process_group(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until(self.accepts_connections, timeout=PROCESS_DEADLINE)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None

    def accepts_connections(self) -> bool:
        """redis-server accepts connections"""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def celery_app_broker(url: str) -> Iterator[None]:
    """Point this process's Celery app (the web side that sends tasks and reads the quick
    check's results) at the Redis server ``url``."""
    previous = (celery_app.conf.broker_url, celery_app.conf.result_backend)
    _switch_broker(url, url if url.startswith("redis://") else previous[1])
    try:
        yield
    finally:
        _switch_broker(*previous)


def _switch_broker(url: str, result_backend: str) -> None:
    # Celery builds its connection and producer pools once, from the broker URL of the
    # moment; they are dropped here so that the next task is sent to the new URL. (Not
    # closed: kombu keeps them per URL and hands them out again when a URL comes back.)
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.result_backend = result_backend
    celery_app._backend_cache = None
    celery_app._local.backend = None


def database_url_of_tests() -> str:
    """The URL of the test database this test process uses (test_<name>)."""
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"


class CeleryProcess:
    """``celery -A dermascan_site <command>`` in its own process group, logging to a file."""

    def __init__(self, command: list[str], *, env: dict[str, str], log_path: Path) -> None:
        self.command = command
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> CeleryProcess:
        clean = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "DERMASCAN_", "CELERY_"))
        }
        with self.log_path.open("ab") as log:
            # Its own process group: the pool children are stopped with it.
            self.process = start_process_group(
                [sys.executable, "-m", "celery", "-A", "dermascan_site", *self.command],
                cwd=REPO,
                env={**clean, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, *, timeout: float = 90) -> None:
        def logged() -> bool:
            if self.process is not None and self.process.poll() is not None:
                pytest.fail(f"celery exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            return text in self.log()

        logged.__doc__ = f"{text!r} in {self.log_path.name}"
        wait_until(logged, timeout=timeout, interval=0.2)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (the main process and its pool children)."""
        if self.process is None:
            return
        stop_process_group(self.process, sig=sig)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process_group(self.process)
        self.process = None


class WorkerStack:
    """What a test needs to start workers (and beat) against its database and broker."""

    def __init__(
        self, *, broker_url: str, media_root: Path, model_dir: Path, log_dir: Path
    ) -> None:
        self.broker_url = broker_url
        self.media_root = media_root
        self.model_dir = model_dir
        self.log_dir = log_dir
        self.processes: list[CeleryProcess] = []

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            "DJANGO_SETTINGS_MODULE": "dermascan_site.settings",
            "DATABASE_URL": database_url_of_tests(),
            "REDIS_URL": self.broker_url,
            "DERMASCAN_MEDIA_ROOT": str(self.media_root),
            "DERMASCAN_DEFAULT_MODEL": str(self.model_dir),
            "DERMASCAN_VAR_DIR": str(self.log_dir),
            # The tests' model store; the worker keeps its own copies under its VAR_DIR,
            # as a worker on another machine would.
            "DERMASCAN_MODEL_STORE": str(storages["models"].location),
            **WORKER_ENV,
            **overrides,
        }

    def start_worker(self, name: str, *, wait_for: str = "Loaded model", **env: str):
        worker = CeleryProcess(
            ["worker", "--queues", "inference,celery", "--concurrency", "1", "--pool", "prefork"]
            + ["--without-gossip", "--without-mingle", "--loglevel", "INFO"]
            + ["--hostname", f"{name}@%h"],
            env=self.env(**env),
            log_path=self.log_dir / f"worker-{name}.log",
        ).start()
        self.processes.append(worker)
        worker.wait_for_log(" ready.")
        if wait_for:
            worker.wait_for_log(wait_for)  # the pool process has loaded (or failed) the model
        return worker

    def start_beat(self, **env: str) -> CeleryProcess:
        beat = CeleryProcess(
            ["beat", "--loglevel", "INFO", "--schedule", str(self.log_dir / "beat-schedule")],
            env=self.env(**env),
            log_path=self.log_dir / "beat.log",
        ).start()
        self.processes.append(beat)
        beat.wait_for_log("beat: Starting")
        return beat

    def stop_all(self) -> None:
        """Stop every process this stack started; one that fails to stop does not keep the
        others running."""
        try:
            for process in self.processes:
                with suppress(Exception):
                    process.stop()
        finally:
            for process in self.processes:
                if process.process is not None:
                    stop_process_group(process.process, sig=signal.SIGKILL)
            self.processes.clear()


# --- fixtures (imported by lesions/tests/conftest.py) -----------------------------------


@pytest.fixture(scope="session")
def model_artifact(tmp_path_factory) -> Path:
    """A real, loadable model artifact (ImageNet backbone, random head), built once."""
    from classifier.testing import build_untrained_artifact

    return build_untrained_artifact(tmp_path_factory.mktemp("artifact") / "model")


@pytest.fixture(scope="session")
def pipeline_media_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pipeline-media")


@pytest.fixture(scope="session")
def session_redis(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def inference_worker(
    django_db_setup, session_redis, model_artifact, pipeline_media_root, tmp_path_factory
) -> Iterator[CeleryProcess]:
    """One worker for the session's pipeline tests, on a private Redis server."""
    stack = WorkerStack(
        broker_url=session_redis.url,
        media_root=pipeline_media_root,
        model_dir=model_artifact,
        log_dir=tmp_path_factory.mktemp("worker-logs"),
    )
    try:
        with celery_app_broker(session_redis.url):
            yield stack.start_worker("shared")
    finally:
        stack.stop_all()  # also when the worker failed to start


@pytest.fixture
def worker_stack(
    transactional_db, model_artifact, pipeline_media_root, tmp_path
) -> Iterator[WorkerStack]:
    """For tests that kill workers or stop the broker: their own Redis and processes."""
    redis = RedisServer(tmp_path)
    stack = WorkerStack(
        broker_url=redis.url,
        media_root=pipeline_media_root,
        model_dir=model_artifact,
        log_dir=tmp_path,
    )
    stack.redis = redis
    try:
        redis.start()
        with celery_app_broker(redis.url):
            yield stack
    finally:
        stack.stop_all()
        redis.stop()


@pytest.fixture
def pipeline_media(settings, pipeline_media_root) -> Path:
    """The web side stores files where the workers read them."""
    settings.MEDIA_ROOT = pipeline_media_root
    return pipeline_media_root
