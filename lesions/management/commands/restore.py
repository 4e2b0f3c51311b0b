from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from lesions.management.commands.backup import model_store_folder
from lesions.services.backups import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup archive: verify its manifest, then REPLACE the database, the media "
        "folder and the model store folder with its contents (files found there are moved "
        "aside, not deleted)."
    )
    requires_system_checks = []  # the database may not exist yet

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)
        parser.add_argument("--yes", action="store_true", help="do not ask before replacing")

    def handle(self, *args, archive: Path, yes: bool, **options):
        database = settings.DATABASES["default"]
        model_store = model_store_folder()
        if not yes:
            answer = input(
                f"Replace database {database['NAME']!r}, the media and the model store? [y/N] "
            )
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Nothing restored.")
        connections.close_all()
        try:
            restored = restore_backup(
                archive=archive,
                database=database,
                media_root=Path(settings.MEDIA_ROOT),
                model_store=model_store,
            )
        except BackupError as error:
            raise CommandError(f"Nothing restored: {error}") from error
        self.stdout.write(
            f"Restored {archive} ({restored.media_files} media files, "
            f"{restored.model_files} model store files)."
        )
        for what, aside in (
            ("media", restored.previous_media),
            ("model store", restored.previous_models),
        ):
            if aside:
                self.stdout.write(f"The {what} found before is in {aside}.")
        if restored.model_files_not_restored:
            self.stderr.write(
                f"The archive's {restored.model_files_not_restored} model store files were not "
                "restored: the model store here is a bucket (restore it from the bucket's "
                "versions, or unset DERMASCAN_MODEL_BUCKET to use a folder)."
            )
