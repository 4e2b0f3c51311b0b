from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from lesions.backups import BackupError, create_backup


class Command(BaseCommand):
    help = "Back up the database and the media files into one dated archive with a manifest."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", type=Path, help="folder for the archive (default: var/backups/)"
        )

    def handle(self, *args, output: Path | None, **options):
        if settings.STORAGES["default"]["BACKEND"] != "django.core.files.storage.FileSystemStorage":
            raise CommandError(
                "Media is on S3: back the bucket up with its versioning or replication; "
                "this command copies a local media folder."
            )
        try:
            archive = create_backup(
                database=settings.DATABASES["default"],
                media_root=Path(settings.MEDIA_ROOT),
                out_dir=output or settings.VAR_DIR / "backups",
            )
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(str(archive))
