"""Production as shipped: the compose stack puts a TLS proxy with a body limit in front of
web, and production settings behave behind it. No Docker engine or Caddy runs here, so the
web side is tested for real: gunicorn with DJANGO_ENV=production and collected static files,
asked exactly as the proxy (and the compose health check) asks."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.conf import settings

REPO = Path(__file__).resolve().parent.parent
HOST = "dermascan.example.org"
PORT = 8103


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_only_the_proxy_is_published_and_it_limits_bodies():
    services = compose()["services"]
    assert "ports" not in services["web"], "web must be reachable through the proxy only"
    assert services["proxy"]["image"].startswith("caddy")
    assert {"80:80", "443:443"} <= set(services["proxy"]["ports"])
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in services["proxy"]["volumes"]
    caddyfile = (REPO / "deploy" / "Caddyfile").read_text()
    limit = re.search(r"max_size (\d+)MB", caddyfile)
    assert limit and int(limit.group(1)) * 1024 * 1024 <= settings.DERMASCAN_MAX_REQUEST_BYTES
    assert "reverse_proxy {$DERMASCAN_UPSTREAM:web:8000}" in caddyfile
    assert "healthcheck" in services["proxy"]


def test_web_trusts_one_proxy_and_checks_health_without_the_redirect():
    web = compose()["services"]["web"]
    assert web["environment"]["DERMASCAN_TRUSTED_PROXIES"] == "1"
    assert web["healthcheck"]["test"] == ["CMD", "python", "-m", "dermascan_site.healthcheck"]
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "collectstatic --noinput" in dockerfile


@pytest.fixture
def production_server(transactional_db, tmp_path):
    """gunicorn serving production settings on the test database, static files collected."""
    database = settings.DATABASES["default"]
    if "postgresql" not in database["ENGINE"]:
        pytest.skip("needs PostgreSQL")
    url = (
        f"postgres://{database['USER']}@{database['HOST']}:{database['PORT'] or 5432}/"
        f"{database['NAME']}"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "production-test-" + "k" * 50,
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        "DATABASE_URL": url,
        "DERMASCAN_VAR_DIR": str(tmp_path / "var"),
        "DERMASCAN_TRUSTED_PROXIES": "1",
    }
    python = sys.executable
    collected = subprocess.run(
        [python, "manage.py", "collectstatic", "--noinput"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stderr
    server = subprocess.Popen(
        [python, "-m", "gunicorn", "dermascan_site.wsgi", "--bind", f"127.0.0.1:{PORT}"]
        + ["--workers", "1", "--timeout", "60"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                time.sleep(0.3)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(path: str, **headers: str):
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", headers=headers)
    try:
        return opener.open(request, timeout=10)
    except urllib.error.HTTPError as error:
        return error


def test_production_behind_the_proxy(production_server):
    # As the proxy passes a request on: HTTPS, the site's host.
    page = fetch("/accounts/login/", Host=HOST, **{"X-Forwarded-Proto": "https"})
    assert page.status == 200
    headers = page.headers
    assert "max-age=31536000" in headers["Strict-Transport-Security"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "no-store" in headers["Cache-Control"]
    assert "camera=()" in headers["Permissions-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert "Secure" in headers["Set-Cookie"]
    # Static files were collected: hashed names, served by WhiteNoise, cached for long.
    stylesheet = re.search(
        r'href="(/static/css/dermascan\.[0-9a-f]{12}\.css)"', page.read().decode()
    )
    assert stylesheet, "no hashed static URL: collectstatic missing?"
    css = fetch(stylesheet.group(1), Host=HOST, **{"X-Forwarded-Proto": "https"})
    assert css.status == 200
    assert "max-age=315360000" in css.headers["Cache-Control"]

    # Plain HTTP reaching Django is sent to HTTPS.
    plain = fetch("/accounts/login/", Host=HOST)
    assert plain.status == 301
    assert plain.headers["Location"] == f"https://{HOST}/accounts/login/"

    # The compose health check passes against it (it would not follow the redirect).
    check = subprocess.run(
        [
            sys.executable,
            "-m",
            "dermascan_site.healthcheck",
            f"http://127.0.0.1:{PORT}/accounts/login/",
        ],
        cwd=REPO,
        env=production_server,
        capture_output=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stderr


def test_oversized_upload_is_answered_before_it_is_sent(production_server):
    """A 200 MB POST gets 413 after its headers: the server reads none of the body."""
    with socket.create_connection(("127.0.0.1", PORT), timeout=10) as connection:
        connection.sendall(
            (
                "POST /lesions/1/images/ HTTP/1.1\r\n"
                f"Host: {HOST}\r\nX-Forwarded-Proto: https\r\n"
                "Content-Type: multipart/form-data; boundary=x\r\n"
                f"Content-Length: {200 * 1024 * 1024}\r\n\r\n"
            ).encode()
            + b"x" * 65536
        )
        started = time.monotonic()
        reply = connection.recv(4096).decode(errors="replace")
    assert reply.startswith("HTTP/1.1 413"), reply[:200]
    assert time.monotonic() - started < 5
