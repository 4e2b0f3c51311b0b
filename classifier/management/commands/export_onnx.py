"""python manage.py export_onnx [--model DIR] [--if-missing]: write an artifact's fp32 ONNX export.

bin/setup and the Docker build run it on the committed default model, whose card
records the export's sha256 but whose 13 MB file is not committed: the export is
deterministic for the pinned torch, and the new file must match the card.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from classifier.artifact import add_export, read_card, usable_export
from classifier.errors import EngineError


class Command(BaseCommand):
    help = "Write (or check) the fp32 ONNX export of a model artifact."

    def add_arguments(self, parser):
        parser.add_argument(
            "--model", default=None, help="artifact directory (default: the committed default)"
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="do nothing when a current export whose sha256 matches the card is there",
        )

    def handle(self, *args, **options):
        directory = Path(options["model"] or settings.DERMASCAN_DEFAULT_MODEL)
        try:
            if options["if_missing"] and usable_export(directory, read_card(directory)):
                self.stdout.write(f"{directory}: ONNX export present and verified")
                return
            entry = add_export(directory)
        except EngineError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(f"{directory}: wrote {entry['file']} (sha256 {entry['sha256']})")
        )
