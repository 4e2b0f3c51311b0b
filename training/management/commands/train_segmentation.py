"""python manage.py train_segmentation --data DIR --out DIR: train the lesion segmenter.

Trains on the ``train`` masks, early-stops on ``val`` Dice, then (unless --no-finish) exports
ONNX, decides int8 on val and scores ``test``: the artifact directory is complete. ``--finish
DIR`` does only that last part for weights trained elsewhere (bench/segmentation_gpu.sh).
The segmenter is not registered or served yet: that is stage 2 of issue 23.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from classifier.errors import EngineError
from training.data import DataError


class Command(BaseCommand):
    help = (
        "Train the lesion segmenter (U-Net on EfficientNet-Lite0) on DIR/masks, early-stopped "
        "on val Dice; export ONNX (int8 where val Dice holds within 0.01) and score test."
    )

    def add_arguments(self, parser):
        from training.segmentation.train import SegTrainConfig

        defaults = SegTrainConfig()
        parser.add_argument("--data", default=None, help="default: settings.DERMASCAN_DATA_DIR")
        parser.add_argument("--out", default=None, help="artifact directory to write")
        parser.add_argument("--epochs", type=int, default=defaults.epochs)
        parser.add_argument("--image-size", type=int, default=defaults.image_size)
        parser.add_argument("--store-size", type=int, default=defaults.store_size)
        parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
        parser.add_argument("--lr", type=float, default=defaults.lr)
        parser.add_argument("--patience", type=int, default=defaults.patience)
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument(
            "--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if any)"
        )
        parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
        parser.add_argument("--time-limit", type=float, default=None, help="seconds")
        parser.add_argument("--max-images", type=int, default=None, help="per split (smoke runs)")
        parser.add_argument("--bootstrap", type=int, default=1000, help="rounds for test intervals")
        parser.add_argument("--no-finish", action="store_true", help="stop after training")
        parser.add_argument(
            "--finish", default=None, metavar="DIR", help="only export and score DIR"
        )

    def handle(self, *args, **options):
        from training.segmentation.finish import finish_artifact
        from training.segmentation.train import SegTrainConfig, train_segmenter

        data = Path(options["data"] or settings.DERMASCAN_DATA_DIR)
        out = options["finish"] or options["out"]
        if not out:
            raise CommandError("--out DIR (or --finish DIR) is required")

        def log(line: str) -> None:
            self.stdout.write(line)

        try:
            if not options["finish"]:
                config = SegTrainConfig(
                    epochs=options["epochs"],
                    image_size=options["image_size"],
                    store_size=options["store_size"],
                    batch_size=options["batch_size"],
                    lr=options["lr"],
                    patience=options["patience"],
                    seed=options["seed"],
                    limit=options["max_images"],
                    time_limit=options["time_limit"],
                )
                train_segmenter(
                    data, out, config, device=options["device"], resume=options["resume"], log=log
                )
                if options["no_finish"]:
                    return
            finish_artifact(
                out,
                data,
                bootstrap_rounds=options["bootstrap"],
                limit=options["max_images"],
                log=log,
            )
        except (DataError, EngineError) as exc:
            raise CommandError(str(exc)) from None
