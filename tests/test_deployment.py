"""The settings modes and the production stack description, checked the way an operator would."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter with a clean DermaScan environment plus ``env``."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "AWS_", "DERMASCAN_"))
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**clean, "DJANGO_SETTINGS_MODULE": "dermascan_site.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def read_settings(*names: str, **env: str) -> list[str]:
    code = "from django.conf import settings as s\n" + "\n".join(
        f"print(repr({name}))" for name in names
    )
    result = run_python(code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_no_environment_means_sqlite_local_media_and_folder_broker(tmp_path):
    engine, broker, storage = read_settings(
        "s.DATABASES['default']['ENGINE']",
        "s.CELERY_BROKER_URL",
        "s.STORAGES['default']['BACKEND']",
        DERMASCAN_VAR_DIR=str(tmp_path),
    )
    assert engine == "'django.db.backends.sqlite3'"
    assert broker == "'filesystem://'"
    assert storage == "'django.core.files.storage.FileSystemStorage'"


def test_urls_switch_to_postgresql_redis_and_s3():
    engine, broker, storage = read_settings(
        "s.DATABASES['default']['ENGINE']",
        "s.CELERY_BROKER_URL",
        "s.STORAGES['default']['BACKEND']",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        REDIS_URL="redis://127.0.0.1:6379/15",
        AWS_STORAGE_BUCKET_NAME="dermascan-media",
    )
    assert engine == "'django.db.backends.postgresql'"
    assert broker == "'redis://127.0.0.1:6379/15'"
    assert storage == "'storages.backends.s3.S3Storage'"


def test_model_store_is_a_local_folder_or_the_media_bucket_unless_another_is_named(tmp_path):
    backend, location, cache = read_settings(
        "s.STORAGES['models']['BACKEND']",
        "str(s.STORAGES['models']['OPTIONS']['location'])",
        "str(s.DERMASCAN_MODEL_CACHE)",
        DERMASCAN_VAR_DIR=str(tmp_path),
    )
    assert backend == "'django.core.files.storage.FileSystemStorage'"
    assert (location, cache) == (
        repr(str(tmp_path / "model-store")),
        repr(str(tmp_path / "model-cache")),
    )

    backend, bucket, acl = read_settings(
        "s.STORAGES['models']['BACKEND']",
        "s.STORAGES['models']['OPTIONS']['bucket_name']",
        "s.STORAGES['models']['OPTIONS']['default_acl']",
        AWS_STORAGE_BUCKET_NAME="dermascan-media",
    )
    assert (backend, bucket, acl) == (
        "'storages.backends.s3.S3Storage'",
        "'dermascan-media'",
        "'private'",
    )

    (bucket,) = read_settings(
        "s.STORAGES['models']['OPTIONS']['bucket_name']",
        AWS_STORAGE_BUCKET_NAME="dermascan-media",
        DERMASCAN_MODEL_BUCKET="dermascan-models",
    )
    assert bucket == "'dermascan-models'"


def test_production_mode_requires_a_secret_key():
    result = run_python("import django; django.setup()", DJANGO_ENV="production")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_mode_passes_the_deployment_check():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env={
            **os.environ,
            "DJANGO_ENV": "production",
            "DJANGO_SECRET_KEY": "k" * 20 + "-production-test-secret-" + "q" * 30,
            "DJANGO_ALLOWED_HOSTS": "dermascan.example.org",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_compose_file_parses_with_docker_compose():
    command = compose_command()
    if command is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    result = subprocess.run(
        [*command, "-f", "docker-compose.yml", "config", "-q"],
        cwd=REPO,
        env={**os.environ, "POSTGRES_PASSWORD": "x", "DJANGO_SECRET_KEY": "y"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_compose_stack_has_every_service_with_health_checks_and_a_gpu_worker():
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    assert {"web", "worker", "beat", "db", "redis"} <= set(services)
    for name in ("web", "worker", "db", "redis"):
        assert "healthcheck" in services[name], name
    devices = services["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert "--queues inference" in services["worker"]["command"]
