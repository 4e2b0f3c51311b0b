from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from lesions.backups import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup archive: verify its manifest, then REPLACE the database and the media "
        "folder with its contents (media found there is moved aside, not deleted)."
    )
    requires_system_checks = []  # the database may not exist yet

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)
        parser.add_argument("--yes", action="store_true", help="do not ask before replacing")

    def handle(self, *args, archive: Path, yes: bool, **options):
        database = settings.DATABASES["default"]
        if not yes:
            answer = input(f"Replace database {database['NAME']!r} and the media? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Nothing restored.")
        connections.close_all()
        try:
            restored = restore_backup(
                archive=archive, database=database, media_root=Path(settings.MEDIA_ROOT)
            )
        except BackupError as error:
            raise CommandError(f"Nothing restored: {error}") from error
        self.stdout.write(f"Restored {archive} ({restored.media_files} media files).")
        if restored.previous_media:
            self.stdout.write(f"The media found before is in {restored.previous_media}.")
