"""The production stack over real HTTPS, started the way docker-compose.yml describes it.

Debian's ``caddy`` runs deploy/Caddyfile (site ``localhost``: Caddy's local CA) in front of
``bin/serve`` (gunicorn), with the compose file's own worker and beat commands and its web
environment, against the test PostgreSQL database and a private Redis. Only what a container
gets from its host differs: addresses (free loopback ports), folders (a temporary one) and the
database and Redis URLs. The client trusts Caddy's root certificate alone, as a browser that
was given it would, and signs in, uploads and reads the analysis as a clinician does.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml
from django.conf import global_settings

from lesions.tests.factories import TEST_PASSWORD, ClinicianFactory
from lesions.tests.images import sample_path
from lesions.tests.workers import (
    PROCESS_DEADLINE,
    CeleryProcess,
    RedisServer,
    database_url_of_tests,
    requires_worker_stack,
    start_process_group,
    stop_process_group,
    wait_until,
)

REPO = Path(__file__).resolve().parent.parent
CADDY = shutil.which("caddy")
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
# What a `.env` beside docker-compose.yml would hold (README "Deploying").
DOT_ENV = {
    "DERMASCAN_DOMAIN": "localhost",
    "DJANGO_SECRET_KEY": "https-test-" + "s" * 50,
    "POSTGRES_PASSWORD": "unused-the-test-database-is-used",
}
# Variables of this machine, not of the stack: removed before the stack's are set.
OWN_PREFIXES = ("DJANGO_", "DATABASE_", "REDIS_", "AWS_", "DERMASCAN_", "CELERY_", "CADDY_")

needs_caddy = pytest.mark.skipif(
    CADDY is None and not IN_CI,
    reason="caddy is not installed (apt-get install caddy); with CI=true this test fails",
)


def needs_https_stack(test):
    """Marks of the tests that run the whole stack: Caddy, PostgreSQL, redis-server. All of
    them use the database committed (the stack's processes read it), which also keeps them
    together when pytest-django orders tests by database use: the stack starts once."""
    for mark in (*requires_worker_stack(), needs_caddy, pytest.mark.django_db(transaction=True)):
        test = mark(test)
    return test


def caddy() -> str:
    if CADDY is None:
        pytest.fail("caddy is not installed: .ci/run installs it (Debian package caddy)")
    return CADDY


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


COMPOSE_VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Fill in ${NAME}, ${NAME:-default} and ${NAME:?error} as docker compose does."""

    def fill(match: re.Match) -> str:
        name, kind, rest = match.groups()
        if variables.get(name):
            return variables[name]
        if kind == "?":
            pytest.fail(f"docker-compose.yml requires {name}: {rest}")
        return rest if kind == "-" else ""

    return COMPOSE_VARIABLE.sub(fill, value)


def service_environment(service: str) -> dict[str, str]:
    environment = compose()["services"][service].get("environment", {})
    return {name: interpolate(str(value), DOT_ENV) for name, value in environment.items()}


def service_command(service: str) -> list[str]:
    return shlex.split(compose()["services"][service]["command"])


def celery_arguments(service: str, **replace: str) -> list[str]:
    """The service's ``celery -A dermascan_site ...`` arguments after the app, with the values
    of the options in ``replace`` (e.g. ``--schedule``) swapped for this machine's."""
    command = service_command(service)
    assert command[:3] == ["celery", "-A", "dermascan_site"], command
    arguments = command[3:]
    for option, value in replace.items():
        arguments[arguments.index(option) + 1] = value
    return arguments


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now, all different (held together while they are chosen)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def machine_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(OWN_PREFIXES)}


@dataclass
class HttpsStack:
    """The processes of docker-compose.yml on this machine, and how to reach them."""

    folder: Path
    redis: RedisServer
    web_port: int = 0
    http_port: int = 0
    https_port: int = 0
    admin_port: int = 0
    processes: list[subprocess.Popen] = field(default_factory=list)
    celery: list[CeleryProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.web_port, self.http_port, self.https_port, self.admin_port = free_ports(4)

    @property
    def app_environment(self) -> dict[str, str]:
        """The web/worker/beat environment of docker-compose.yml, with this machine's
        database, broker and folders in place of the containers'."""
        return {
            **service_environment("web"),
            "DATABASE_URL": database_url_of_tests(),
            "REDIS_URL": self.redis.url,
            "DERMASCAN_VAR_DIR": str(self.folder / "var"),  # media, model store (the volumes)
            "DJANGO_STATIC_ROOT": str(self.folder / "static"),  # collected by bin/serve
            "DERMASCAN_INFERENCE_THREADS": "1",  # a shared two-core machine
        }

    @property
    def root_certificate(self) -> Path:
        return self.folder / "caddy-data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.https_port}"

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def start(self) -> None:
        """Start everything at once (each start-up takes seconds), then wait for each."""
        (self.folder / "run").mkdir(mode=0o700)
        self.redis.start()
        web = self._start("web", [str(REPO / "bin" / "serve")], env=self.web_environment())
        worker = self._start_celery("worker", celery_arguments("worker"))
        # The sweep every two seconds instead of every minute, so its first run is seen soon.
        beat = self._start_celery(
            "beat",
            celery_arguments("beat", **{"--schedule": str(self.folder / "beat-schedule")}),
            DERMASCAN_SWEEP_INTERVAL="2",
        )
        proxy = self._start(
            "proxy",
            [caddy(), "run", "--config", "deploy/Caddyfile", "--adapter", "caddyfile"],
            env=self.proxy_environment(),
        )
        self._wait_for(web, "web", f"listening on 127.0.0.1:{self.web_port}", self._web_listens)
        worker.wait_for_log(" ready.", timeout=PROCESS_DEADLINE)
        worker.wait_for_log("Loaded model", timeout=PROCESS_DEADLINE)
        beat.wait_for_log("beat: Starting", timeout=PROCESS_DEADLINE)
        self._wait_for(proxy, "proxy", "serving the site over HTTPS", self._serves_https)

    def web_environment(self) -> dict[str, str]:
        return {
            **machine_environment(),
            **self.app_environment,
            "BIND": f"127.0.0.1:{self.web_port}",
            "WEB_WORKERS": "2",
            # gunicorn's control socket, otherwise ~/.gunicorn/gunicorn.ctl for every server.
            "XDG_RUNTIME_DIR": str(self.folder / "run"),
        }

    def proxy_environment(self) -> dict[str, str]:
        return {
            **machine_environment(),
            **service_environment("proxy"),
            "DERMASCAN_UPSTREAM": f"127.0.0.1:{self.web_port}",
            "CADDY_HTTP_PORT": str(self.http_port),
            "CADDY_HTTPS_PORT": str(self.https_port),
            "CADDY_ADMIN": f"127.0.0.1:{self.admin_port}",
            "CADDY_EXTRA_OPTIONS": "default_bind 127.0.0.1",
            # Caddy's certificates and CA (the caddy_data volume) and its autosaved config.
            "XDG_DATA_HOME": str(self.folder / "caddy-data"),
            "XDG_CONFIG_HOME": str(self.folder / "caddy-config"),
            "HOME": str(self.folder),
        }

    def _start(self, name: str, command: list[str], *, env: dict[str, str]) -> subprocess.Popen:
        with self.log(name).open("ab") as log:
            process = start_process_group(
                command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.processes.append(process)
        return process

    def _start_celery(self, name: str, arguments: list[str], **env: str) -> CeleryProcess:
        process = CeleryProcess(
            arguments, env={**self.app_environment, **env}, log_path=self.log(name)
        ).start()
        self.celery.append(process)
        return process

    def _wait_for(self, process: subprocess.Popen, name: str, what: str, ready) -> None:
        """Wait until ``ready()``; fail at once, with its log, if the process exits."""

        def running_and_ready() -> bool:
            if process.poll() is not None:
                log = self.log(name).read_text(errors="replace")
                pytest.fail(f"{name} exited with {process.returncode}:\n{log[-3000:]}")
            return ready()

        running_and_ready.__doc__ = f"{name} {what}"
        wait_until(running_and_ready, timeout=PROCESS_DEADLINE, interval=0.3)

    def _web_listens(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.web_port), timeout=1).close()
        except OSError:
            return False
        return True

    def _serves_https(self) -> bool:
        """Caddy has its certificate for localhost and passes requests on to web."""
        if not self.root_certificate.exists():
            return False
        try:
            with self.client() as client:
                return client.get("/accounts/login/").status_code == 200
        except httpx.TransportError:
            return False

    def client(self) -> httpx.Client:
        """An HTTPS client that trusts Caddy's local root certificate and nothing else."""
        context = ssl.create_default_context(cafile=str(self.root_certificate))
        return httpx.Client(
            base_url=self.origin, verify=context, timeout=30, headers={"Origin": self.origin}
        )

    def stop(self) -> None:
        """Stop every process, also those that never came up; one failing to stop does not
        keep the others running."""
        try:
            for process in reversed(self.processes):
                with_suppressed(stop_process_group, process)
            for celery in reversed(self.celery):
                with_suppressed(celery.stop)
        finally:
            self.redis.stop()


def with_suppressed(function, *args) -> None:
    try:
        function(*args)
    except Exception as error:  # the others must still be stopped
        print(f"could not stop a process: {error!r}", file=sys.stderr)


@pytest.fixture(scope="module")
def stack(django_db_setup, tmp_path_factory) -> Iterator[HttpsStack]:
    caddy()
    folder = tmp_path_factory.mktemp("https-stack")
    running = HttpsStack(folder=folder, redis=RedisServer(folder))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def clinician(transactional_db, settings):
    """Committed, so that the web processes see it, with a password hashed as production
    checks it (the test settings' fast hasher is not among production's)."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    return ClinicianFactory()


CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def submit(
    client: httpx.Client, page: str, action: str, data: dict, files: dict | None = None
) -> httpx.Response:
    """Open ``page`` and post its form to ``action``, as a browser does: the form's CSRF
    token, the CSRF cookie, and the page as Referer."""
    opened = client.get(page)
    assert opened.status_code == 200, (page, opened.status_code)
    token = CSRF_FIELD.search(opened.text)
    assert token, f"no CSRF token on {page}"
    return client.post(
        action,
        data={"csrfmiddlewaretoken": token.group(1), **data},
        files=files,
        headers={"Referer": f"{client.base_url}{page.lstrip('/')}"},
    )


def sign_in(client: httpx.Client, username: str) -> httpx.Response:
    signed_in = submit(
        client,
        "/accounts/login/",
        "/accounts/login/",
        {"username": username, "password": TEST_PASSWORD, "otp_token": "", "next": ""},
    )
    assert signed_in.status_code == 302, signed_in.text[:2000]
    assert signed_in.headers["Location"] == "/"
    return signed_in


@needs_https_stack
def test_plain_http_is_redirected_to_https(stack):
    with httpx.Client(timeout=10) as plain:
        response = plain.get(f"http://localhost:{stack.http_port}/accounts/login/?next=/")
    assert response.status_code == 308
    # Caddy takes https_port for the inside of a port mapping (compose's 443:443) and sends
    # clients to the standard port of the site's name.
    assert response.headers["Location"] == "https://localhost/accounts/login/?next=/"


@needs_https_stack
def test_pages_over_https_carry_hsts_and_csp(stack):
    with stack.client() as client:
        response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert response.extensions["http_version"] in (b"HTTP/1.1", b"HTTP/2")
    headers = response.headers
    hsts = headers["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts and "preload" in hsts
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Server" not in headers  # the proxy removes it


@needs_https_stack
def test_sign_in_sets_secure_http_only_same_site_cookies(stack, clinician):
    with stack.client() as client:
        signed_in = sign_in(client, clinician.username)
    cookies = {line.split("=", 1)[0]: line for line in signed_in.headers.get_list("Set-Cookie")}
    session = cookies["sessionid"]
    assert "; Secure" in session and "; HttpOnly" in session and "SameSite=Lax" in session
    assert "; Secure" in cookies["csrftoken"] and "SameSite=Lax" in cookies["csrftoken"]


@needs_https_stack
def test_clinician_uploads_over_https_and_reads_the_analysis(stack, clinician):
    with stack.client() as client:
        sign_in(client, clinician.username)
        created = submit(
            client,
            "/patients/new/",
            "/patients/new/",
            {
                "medical_record_number": "MRN-HTTPS-1",
                "family_name": "Lovelace",
                "given_names": "Ada",
                "date_of_birth": "1970-12-10",
                "sex": "female",
                "fitzpatrick_skin_type": "2",
                "notes": "",
            },
        )
        assert created.status_code == 302, created.text[:2000]
        patient_page = created.headers["Location"]
        added = submit(
            client,
            patient_page,
            f"{patient_page}lesions/new/",
            {
                "label": "Left shoulder mole",
                "body_site": "back",
                "body_view": "back",
                "map_x": "0.4",
                "map_y": "0.3",
                "first_noted_on": "2024-01-15",
                "notes": "",
            },
        )
        assert added.status_code == 302, added.text[:2000]
        lesion_page = added.headers["Location"]
        sample = sample_path("nv")
        uploaded = submit(
            client,
            lesion_page,
            f"{lesion_page}images/",
            {"captured_on": "2024-02-01", "modality": "dermoscopic"},
            files={"file": (sample.name, sample.read_bytes(), "image/jpeg")},
        )
        assert uploaded.status_code == 302, uploaded.text[:2000]
        assert uploaded.headers["Location"] == lesion_page

        def finished() -> str | None:
            """the worker has finished the analysis (lesion page's status poll)"""
            status = client.get(f"{lesion_page}analyses/").json()
            (entry,) = status["analyses"]
            return entry["status"] if entry["status"] in ("done", "failed") else None

        assert wait_until(finished, timeout=PROCESS_DEADLINE, interval=0.5) == "done"
        page = client.get(lesion_page)
        assert page.status_code == 200
        assert 'data-analysis-status="done"' in page.text
        state = re.search(r'data-result-state="([a-z_ ]+)"', page.text)
        assert state, "no result state on the lesion page"
        assert "Not a diagnostic device" in page.text
        assert "no-store" in page.headers["Cache-Control"]  # patient data stays out of caches


@needs_https_stack
def test_health_checks_of_the_compose_file_pass(stack):
    # The proxy's: its admin endpoint answers.
    admin = httpx.get(f"http://127.0.0.1:{stack.admin_port}/config/", timeout=10)
    assert admin.status_code == 200
    # The web container's, run as compose runs it, against the web process.
    web = subprocess.run(
        [sys.executable, "-m", "dermascan_site.healthcheck"]
        + [f"http://127.0.0.1:{stack.web_port}/accounts/login/"],
        cwd=REPO,
        env=stack.web_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert web.returncode == 0, web.stderr
    # The worker's: a shell command, $$ being compose's escape for $.
    (shell, command) = compose()["services"]["worker"]["healthcheck"]["test"]
    assert shell == "CMD-SHELL"
    venv = str(Path(sys.executable).parent)
    worker = subprocess.run(
        ["sh", "-c", command.replace("$$", "$")],
        cwd=REPO,
        env={
            **machine_environment(),
            **stack.app_environment,
            "PATH": f"{venv}:{os.environ['PATH']}",
            "HOSTNAME": socket.gethostname(),  # a container's host name is its %h
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr
    # The site's own, over HTTPS: database, broker, an inference worker and the model.
    with stack.client() as client:

        def healthy() -> bool:
            """/health/ says ok (a worker's heartbeat may be a few seconds away)"""
            return client.get("/health/").json() == {"status": "ok"}

        wait_until(healthy, timeout=PROCESS_DEADLINE, interval=1)
    # Beat sends the periodic sweep, the worker runs it.
    inference = next(process for process in stack.celery if process.log_path.stem == "worker")
    swept = re.compile(r"Task lesions\.tasks\.sweep_stale_analyses\[[-0-9a-f]+\] succeeded")

    def sweep_ran() -> bool:
        """the worker has run a sweep that beat sent"""
        return bool(swept.search(inference.log()))

    wait_until(sweep_ran, timeout=PROCESS_DEADLINE, interval=0.5)


def test_deploy_check_is_clean_with_the_compose_environment():
    """manage.py check --deploy with what docker-compose.yml gives web: no issue at any
    level, and none silenced."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=REPO,
        env={**machine_environment(), **service_environment("web")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@needs_caddy
def test_caddyfile_without_the_tests_variables_is_what_compose_runs():
    """No variable set (the compose proxy sets DERMASCAN_DOMAIN only): Caddy's standard
    ports and admin address on every interface, the web container as upstream."""
    result = subprocess.run(
        [caddy(), "adapt", "--config", "deploy/Caddyfile", "--adapter", "caddyfile"],
        cwd=REPO,
        env={**machine_environment(), **service_environment("proxy")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["admin"]["listen"] == "localhost:2019"
    http = config["apps"]["http"]
    assert (http["http_port"], http["https_port"]) == (80, 443)
    (server,) = http["servers"].values()
    assert server["listen"] == [":443"]
    (site,) = server["routes"]
    assert site["match"] == [{"host": ["localhost"]}]
    handlers = {handler["handler"]: handler for handler in site["handle"][0]["routes"][0]["handle"]}
    assert handlers["reverse_proxy"]["upstreams"] == [{"dial": "web:8000"}]
    assert handlers["request_body"]["max_size"] == 21_000_000
    # Caddy never edits the host's trust store.
    assert config["apps"]["pki"]["certificate_authorities"]["local"]["install_trust"] is False
