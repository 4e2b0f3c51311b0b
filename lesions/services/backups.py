"""Backups that restore: the PostgreSQL database (pg_dump), the media files and the model
store (registered model versions' files) in one dated archive with a SHA-256 manifest of
every file in it.

Archive layout (``dermascan-backup-<UTC time>.tar.gz``)::

    dermascan-backup-20261130T020000Z/
        database.dump        pg_dump custom format (restored with pg_restore)
        media/...            every stored image, thumbnail and heatmap
        model-store/...      every file of every registered model version (models/<prefix>/...)
        MANIFEST.sha256      "<sha256>  <path>" for each file above (sha256sum -c reads it)

The database is dumped first, then the files copied: an image uploaded (or a version
registered) in between leaves unreferenced files (harmless); rows never point to files the
archive lacks, except for an image deleted in those seconds. Restoring checks the manifest
before touching anything. Folders only: media or models in a bucket are kept by the
bucket's versioning and replication instead (README, "Backups").
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "MANIFEST.sha256"
DUMP = "database.dump"
MEDIA = "media"
MODEL_STORE = "model-store"


class BackupError(Exception):
    """A backup or restore that cannot go on; nothing was changed."""


@dataclass(frozen=True)
class Restored:
    archive: Path
    media_files: int
    previous_media: Path | None  # where the media found before the restore was moved
    model_files: int = 0
    previous_models: Path | None = None  # where the model store found before was moved
    model_files_not_restored: int = 0  # the archive's model store, with no folder to go to


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _pg_args(database: dict[str, Any], *, name: str | None = None) -> tuple[list[str], dict]:
    """Connection arguments for the PostgreSQL client programs, the password in the env."""
    if "postgresql" not in database["ENGINE"]:
        raise BackupError("Backups need PostgreSQL (DATABASE_URL=postgres://...).")
    args = ["--dbname", name or database["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if database.get(key):
            args += [flag, str(database[key])]
    env = {**os.environ}
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = database["PASSWORD"]
    return args, env


def _run(command: list[str], env: dict) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603 (fixed program, arguments from settings)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")


def create_backup(
    *,
    database: dict[str, Any],
    media_root: Path,
    out_dir: Path,
    model_store: Path | None = None,
    now: datetime.datetime | None = None,
) -> Path:
    """Write one archive into ``out_dir`` and return its path (written whole or not at all).

    ``model_store``: the model store's folder, archived beside the media (None: not a folder).
    """
    now = now or datetime.datetime.now(datetime.UTC)
    name = f"dermascan-backup-{now:%Y%m%dT%H%M%SZ}"
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"{name}.tar.gz"
    partial = out_dir / f".{name}.tar.gz.partial"
    with tempfile.TemporaryDirectory() as scratch:
        dump = Path(scratch) / DUMP
        args, env = _pg_args(database)
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                "--file",
                str(dump),
                *args,
            ],
            env,
        )
        lines = [f"{sha256_file(dump)}  {DUMP}"]
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(dump, arcname=f"{name}/{DUMP}")
            folders = [(MEDIA, Path(media_root))]
            if model_store is not None:
                folders.append((MODEL_STORE, Path(model_store)))
            for prefix, folder in folders:
                # The folder itself, empty or not: the restore then knows to replace it.
                entry = tarfile.TarInfo(f"{name}/{prefix}")
                entry.type, entry.mode, entry.mtime = tarfile.DIRTYPE, 0o755, int(now.timestamp())
                tar.addfile(entry)
                for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                    relative = f"{prefix}/{path.relative_to(folder).as_posix()}"
                    lines.append(f"{sha256_file(path)}  {relative}")
                    tar.add(path, arcname=f"{name}/{relative}")
            manifest = Path(scratch) / MANIFEST
            manifest.write_text("\n".join(lines) + "\n")
            tar.add(manifest, arcname=f"{name}/{MANIFEST}")
    partial.rename(archive)
    return archive


def verify_tree(root: Path) -> dict[str, str]:
    """The manifest of an unpacked backup, after checking every file against it."""
    manifest = root / MANIFEST
    if not manifest.is_file():
        raise BackupError("The archive has no manifest: not a DermaScan backup.")
    expected = {}
    for line in manifest.read_text().splitlines():
        digest, _, relative = line.partition("  ")
        expected[relative] = digest
    present = {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and path != manifest
    }
    if present != set(expected):
        raise BackupError(f"Files differ from the manifest: {sorted(present ^ set(expected))}")
    for relative, digest in expected.items():
        if sha256_file(root / relative) != digest:
            raise BackupError(f"Checksum mismatch: {relative}")
    if DUMP not in expected:
        raise BackupError("The archive has no database dump.")
    return expected


def restore_backup(
    *,
    archive: Path,
    database: dict[str, Any],
    media_root: Path,
    model_store: Path | None = None,
) -> Restored:
    """Replace the database, the media and the model store with the archive's, after
    verifying it whole. ``model_store`` None: the models are not in a folder here (a bucket),
    and the archive's model store, if any, is left out (counted in the result)."""
    folders = {MEDIA: Path(media_root)}
    if model_store is not None:
        folders[MODEL_STORE] = Path(model_store)
    previous: dict[str, Path | None] = {}
    with tempfile.TemporaryDirectory() as scratch:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(scratch, filter="data")  # refuses absolute paths, links out, ..
        (root,) = Path(scratch).iterdir()
        expected = verify_tree(root)
        _recreate_database(database)
        args, env = _pg_args(database)
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                *args,
                str(root / DUMP),
            ],
            env,
        )
        for prefix, folder in folders.items():
            if prefix == MODEL_STORE and not (root / prefix).is_dir():
                continue  # an archive made without the model store: leave the folder be
            previous[prefix] = _set_aside(folder)
            if (root / prefix).is_dir():
                shutil.copytree(root / prefix, folder, dirs_exist_ok=True)
            else:
                folder.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys((MEDIA, MODEL_STORE), 0)
    for relative, digest in expected.items():
        prefix, _, rest = relative.partition("/")
        if prefix not in counts:
            continue
        counts[prefix] += 1
        if prefix in folders:
            restored = folders[prefix] / rest
            if sha256_file(restored) != digest:
                raise BackupError(f"Restored file differs from the manifest: {restored}")
    return Restored(
        archive=archive,
        media_files=counts[MEDIA],
        previous_media=previous.get(MEDIA),
        model_files=counts[MODEL_STORE] if MODEL_STORE in folders else 0,
        previous_models=previous.get(MODEL_STORE),
        model_files_not_restored=0 if MODEL_STORE in folders else counts[MODEL_STORE],
    )


def _recreate_database(database: dict[str, Any]) -> None:
    """Drop and create the database empty, through the server's maintenance database."""
    import psycopg
    from psycopg import sql

    params = {
        "dbname": "postgres",
        "host": database.get("HOST") or None,
        "port": database.get("PORT") or None,
        "user": database.get("USER") or None,
        "password": database.get("PASSWORD") or None,
    }
    name = sql.Identifier(database["NAME"])
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(name))


def _set_aside(folder: Path) -> Path | None:
    """Files found before a restore are moved beside their folder, never deleted."""
    if not folder.exists() or not any(folder.iterdir()):
        return None
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = folder.with_name(f"{folder.name}.before-restore-{stamp}")
    folder.rename(aside)
    return aside
