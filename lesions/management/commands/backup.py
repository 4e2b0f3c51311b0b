from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.core.management.base import BaseCommand, CommandError

from lesions.services.backups import BackupError, create_backup


def model_store_folder() -> Path | None:
    """The model store's folder, or None when it is a bucket (kept by its versioning)."""
    storage = storages["models"]
    return Path(storage.location) if isinstance(storage, FileSystemStorage) else None


class Command(BaseCommand):
    help = (
        "Back up the database, the media files and the model store into one dated archive "
        "with a manifest."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", type=Path, help="folder for the archive (default: var/backups/)"
        )

    def handle(self, *args, output: Path | None, **options):
        if not isinstance(storages["default"], FileSystemStorage):
            raise CommandError(
                "Media is on S3: back the bucket up with its versioning or replication; "
                "this command copies a local media folder."
            )
        model_store = model_store_folder()
        try:
            archive = create_backup(
                database=settings.DATABASES["default"],
                media_root=Path(settings.MEDIA_ROOT),
                model_store=model_store,
                out_dir=output or settings.VAR_DIR / "backups",
            )
        except BackupError as error:
            raise CommandError(str(error)) from error
        if model_store is None:
            self.stderr.write(
                "The model store is a bucket and is not in the archive: keep it with the "
                "bucket's versioning or replication."
            )
        self.stdout.write(str(archive))
