"""Backups that restore: the PostgreSQL database (pg_dump) and the media files in one dated
archive with a SHA-256 manifest of every file in it.

Archive layout (``dermascan-backup-<UTC time>.tar.gz``)::

    dermascan-backup-20261130T020000Z/
        database.dump        pg_dump custom format (restored with pg_restore)
        media/...            every stored image, thumbnail and heatmap
        MANIFEST.sha256      "<sha256>  <path>" for each file above (sha256sum -c reads it)

The database is dumped first, then the media copied: an image uploaded in between leaves an
unreferenced file (harmless); rows never point to files the archive lacks, except for an
image deleted in those seconds. Restoring checks the manifest before touching anything.
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


class BackupError(Exception):
    """A backup or restore that cannot go on; nothing was changed."""


@dataclass(frozen=True)
class Restored:
    archive: Path
    media_files: int
    previous_media: Path | None  # where the media found before the restore was moved


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
    now: datetime.datetime | None = None,
) -> Path:
    """Write one archive into ``out_dir`` and return its path (written whole or not at all)."""
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
            for path in sorted(p for p in Path(media_root).rglob("*") if p.is_file()):
                relative = f"{MEDIA}/{path.relative_to(media_root).as_posix()}"
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


def restore_backup(*, archive: Path, database: dict[str, Any], media_root: Path) -> Restored:
    """Replace the database and the media with the archive's, after verifying it whole."""
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
        previous = _set_media_aside(Path(media_root))
        if (root / MEDIA).is_dir():
            shutil.copytree(root / MEDIA, media_root, dirs_exist_ok=True)
        else:
            Path(media_root).mkdir(parents=True, exist_ok=True)
    for relative, digest in expected.items():
        if relative.startswith(f"{MEDIA}/"):
            restored = Path(media_root) / relative.removeprefix(f"{MEDIA}/")
            if sha256_file(restored) != digest:
                raise BackupError(f"Restored file differs from the manifest: {restored}")
    media_files = sum(1 for relative in expected if relative.startswith(f"{MEDIA}/"))
    return Restored(archive=archive, media_files=media_files, previous_media=previous)


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


def _set_media_aside(media_root: Path) -> Path | None:
    """Media found before a restore is moved beside it, never deleted."""
    if not media_root.exists() or not any(media_root.iterdir()):
        return None
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = media_root.with_name(f"{media_root.name}.before-restore-{stamp}")
    media_root.rename(aside)
    return aside
