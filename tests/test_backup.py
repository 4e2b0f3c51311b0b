"""bin/backup and bin/restore on a scratch PostgreSQL database: data is created, backed up,
the database dropped and the media and model store deleted, then restored; every row of
every table, every sequence and every file's SHA-256 must be as before, and the registered
model version must load from the restored model store."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
SEED = """
from lesions.tests.factories import LesionImageFactory, PatientFactory
patient = PatientFactory(name="Zoë O’Brien-Ångström", notes="Line one\\nline two")
for seed in range(3):
    LesionImageFactory(lesion__patient=patient, image_bytes=__import__(
        "lesions.tests.images", fromlist=["jpeg_bytes"]).jpeg_bytes(seed=seed))
"""
# A registered model version: its files go to the model store folder.
REGISTER = """
import sys, tempfile
from pathlib import Path
from classifier.services import register_model_version
from classifier.testing import build_untrained_artifact
with tempfile.TemporaryDirectory() as scratch:
    artifact = build_untrained_artifact(Path(scratch) / "run", seed=0)
    register_model_version(artifact_dir=artifact, name="backed-up", activate=True)
"""
# Serves the active version from the model store with an empty cache: fetched and checked.
SERVE = """
from classifier.registry import served_model
served = served_model()
print("served", served.version.name, served.directory)
"""


def scratch_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path + "_backup_test"))


def connect(url: str, dbname: str | None = None) -> psycopg.Connection:
    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname=dbname or parts.path.lstrip("/"),
        autocommit=True,
    )


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with connect(url, "postgres") as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def stack(tmp_path):
    """A scratch database (migrated, with data), media folder and model store folder (with a
    registered model version), dropped afterwards."""
    url = scratch_url()
    if url is None:
        pytest.skip("the backup round trip needs DATABASE_URL pointing at PostgreSQL")
    drop_database(url)
    with connect(url, "postgres") as admin:
        name = sql.Identifier(urlsplit(url).path.lstrip("/"))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_"))},
        "DATABASE_URL": url,
        "DERMASCAN_VAR_DIR": str(tmp_path / "var"),
        "DERMASCAN_MEDIA_ROOT": str(tmp_path / "media"),
        "DERMASCAN_MODEL_STORE": str(tmp_path / "model-store"),
        "DERMASCAN_MODEL_CACHE": str(tmp_path / "model-cache"),
    }
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        manage(env, "shell", "-c", SEED)
        yield url, env, tmp_path / "media"
    finally:
        drop_database(url)


def manage(env: dict, *args: str) -> str:
    return run([str(REPO / ".venv" / "bin" / "python"), str(REPO / "manage.py"), *args], env)


def run(command: list[str], env: dict, *, check: bool = True) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def database_snapshot(url: str) -> dict[str, list[str]]:
    """Every row of every table (as text, sorted) and every sequence's position."""
    snapshot = {}
    with connect(url) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        for (table,) in tables:
            query = sql.SQL("SELECT t::text FROM {} t ORDER BY 1").format(sql.Identifier(table))
            snapshot[table] = [row[0] for row in connection.execute(query)]
        sequences = connection.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
        ).fetchall()
        snapshot["sequences"] = sorted(f"{name}={value}" for name, value in sequences)
    return snapshot


def media_snapshot(media_root: Path) -> dict[str, str]:
    return {
        path.relative_to(media_root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(media_root.rglob("*"))
        if path.is_file()
    }


def test_backup_drop_restore_gives_back_every_row_and_file(stack, tmp_path):
    url, env, media_root = stack
    model_store = Path(env["DERMASCAN_MODEL_STORE"])
    manage(env, "shell", "-c", REGISTER)
    rows, files = database_snapshot(url), media_snapshot(media_root)
    models = media_snapshot(model_store)
    assert len(rows["lesions_lesionimage"]) >= 4
    assert len(files) >= 8  # images and thumbnails
    assert any("Zoë" in row and "O’Brien-Ångström" in row for row in rows["lesions_patient"])
    assert len(rows["classifier_modelversion"]) == 1
    assert {"card.json", "weights.safetensors", "model.onnx"} <= {Path(f).name for f in models}

    output = run([str(REPO / "bin" / "backup"), "--output", str(tmp_path / "backups")], env)
    (archive,) = (tmp_path / "backups").glob("dermascan-backup-*.tar.gz")
    assert str(archive) in output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = tar.extractfile(next(n for n in names if n.endswith("MANIFEST.sha256")))
        listed = manifest.read().decode().splitlines()
    assert len(listed) == len(files) + len(models) + 1  # the dump, media and model files
    assert sum("  model-store/models/" in line for line in listed) == len(models)

    drop_database(url)
    shutil.rmtree(media_root)
    shutil.rmtree(model_store)
    shutil.rmtree(env["DERMASCAN_MODEL_CACHE"], ignore_errors=True)

    output = run([str(REPO / "bin" / "restore"), str(archive), "--yes"], env)
    assert f"({len(files)} media files, {len(models)} model store files)" in output
    assert database_snapshot(url) == rows
    assert media_snapshot(media_root) == files
    assert media_snapshot(model_store) == models
    # The active version is fetched from the restored store and passes its check.
    served = manage(env, "shell", "-c", SERVE)
    assert f"served backed-up {env['DERMASCAN_MODEL_CACHE']}/" in served


def test_a_restore_sets_aside_the_model_store_it_replaces(stack, tmp_path):
    url, env, _ = stack
    model_store = Path(env["DERMASCAN_MODEL_STORE"])
    run([str(REPO / "bin" / "backup"), "--output", str(tmp_path / "backups")], env)
    (archive,) = (tmp_path / "backups").glob("*.tar.gz")
    manage(env, "shell", "-c", REGISTER)  # registered after the backup
    registered_since = media_snapshot(model_store)

    output = run([str(REPO / "bin" / "restore"), str(archive), "--yes"], env)
    assert ", 0 model store files)" in output
    (aside,) = tmp_path.glob("model-store.before-restore-*")
    assert f"The model store found before is in {aside}." in output
    assert media_snapshot(aside) == registered_since  # moved, not deleted
    assert database_snapshot(url)["classifier_modelversion"] == []


def test_tampered_archive_is_refused_before_anything_is_replaced(stack, tmp_path):
    url, env, media_root = stack
    rows = database_snapshot(url)
    run([str(REPO / "bin" / "backup"), "--output", str(tmp_path / "backups")], env)
    (archive,) = (tmp_path / "backups").glob("*.tar.gz")
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(tampered, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None
            if data is not None and "/media/lesion-images/" in member.name:
                data = data[:-3] + b"\x00\x00\x00"
            target.addfile(member, io.BytesIO(data) if data is not None else None)

    result = subprocess.run(
        [str(REPO / "bin" / "restore"), str(tampered), "--yes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "Checksum mismatch" in result.stderr
    assert database_snapshot(url) == rows  # not dropped
