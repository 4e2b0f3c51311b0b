"""python manage.py export_onnx [--model DIR] [--if-missing]: write an artifact's fp32 ONNX export.

bin/setup and the Docker build run it on the committed default model, whose card
records the export (its sha256 and reference outputs) but whose 13 MB file is not
committed. The bytes of a new export depend on the CPU; it is accepted when it
reproduces the card's reference outputs (classifier.export_check).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from classifier.artifact import read_card, sha256_of
from classifier.errors import EngineError
from classifier.export import add_export, usable_export


class Command(BaseCommand):
    help = "Write (or check) the fp32 ONNX export of a model artifact."

    def add_arguments(self, parser):
        parser.add_argument(
            "--model", default=None, help="artifact directory (default: the committed default)"
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="do nothing when a current export that the card verifies is there",
        )

    def handle(self, *args, **options):
        directory = Path(options["model"] or settings.DERMASCAN_DEFAULT_MODEL)
        try:
            if options["if_missing"] and usable_export(directory, read_card(directory)):
                self.stdout.write(f"{directory}: ONNX export present and verified")
            else:
                entry = add_export(directory)
                path = directory / entry["file"]
                how = (
                    "the same bytes as the card records"
                    if sha256_of(path) == entry["sha256"]
                    else "other bytes than the card records (another CPU or build), the same "
                    "outputs on its reference inputs"
                )
                self.stdout.write(self.style.SUCCESS(f"{directory}: wrote {path.name}: {how}"))
        except EngineError as exc:
            raise CommandError(f"{exc}\n{served_backend(directory)}") from None
        self.stdout.write(served_backend(directory))


def served_backend(directory: Path) -> str:
    """What a CPU worker will run for this artifact, as it will choose it."""
    from classifier.predictor import Predictor

    try:
        backend = Predictor.from_artifact(directory, device="cpu", threads=1).backend_name
    except EngineError as exc:
        return f"served on CPU: nothing, the model cannot be loaded: {exc}"
    return f"served on CPU: {backend}"
