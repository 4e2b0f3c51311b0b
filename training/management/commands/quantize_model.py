"""python manage.py quantize_model --data DIR [--model PATH]: add the int8 export of an artifact."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from classifier.errors import EngineError
from training.data import DataError


class Command(BaseCommand):
    help = (
        "Quantize an artifact's ONNX export to int8 (static, QDQ, per-channel; activation "
        "ranges from train images), score fp32 and int8 on test as served, and record the "
        "comparison in card.json. Workers serve int8 only when it stays within the tolerances."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="labelled data with train/test splits")
        parser.add_argument(
            "--model",
            required=True,
            help="artifact directory (a registered version's files are fixed: quantize before "
            "registering, or register the quantized copy as a new version)",
        )
        parser.add_argument("--images", type=int, default=256, help="calibration images")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--max-ba-drop", type=float, default=0.01)
        parser.add_argument("--max-auc-drop", type=float, default=0.005)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        from classifier.artifact import read_card
        from classifier.labels import class_set_of
        from training.data import load_dataset
        from training.quantize import Tolerance, quantize_artifact
        from training.splits import ensure_split

        if options["images"] < 1:
            raise CommandError("--images must be at least 1")
        directory = Path(options["model"])
        try:
            try:
                labels = class_set_of(read_card(directory).classes)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            data = ensure_split(load_dataset(Path(options["data"]), labels=labels))
            entry = quantize_artifact(
                directory,
                data=data,
                images=options["images"],
                seed=options["seed"],
                tolerance=Tolerance(options["max_ba_drop"], options["max_auc_drop"]),
                progress=not options["no_progress"],
                log=lambda message: self.stdout.write(message),
            )
        except (DataError, EngineError) as exc:
            raise CommandError(str(exc)) from None
        style = self.style.SUCCESS if entry["served"] else self.style.WARNING
        self.stdout.write(style(entry["reason"]))
