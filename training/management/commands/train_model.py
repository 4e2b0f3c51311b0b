"""python manage.py train_model --data DIR ...: train, calibrate, evaluate, register."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from classifier.errors import EngineError
from classifier.preprocessing import PreprocessConfig
from training.data import DataError
from training.loop import TrainingError
from training.recipe import BALANCE_CHOICES, TrainConfig


class Command(BaseCommand):
    help = (
        "Train a classifier on a labelled image folder (HAM10000 metadata.csv layout or a "
        "folder per class), calibrate it on val, score it on test with TTA, write the artifact "
        "and its model card, and register it as a ModelVersion."
    )

    def add_arguments(self, parser):
        defaults = TrainConfig()
        parser.add_argument("--data", required=True, help="data directory")
        parser.add_argument("--labels", default="ham7", choices=["ham7", "isic8", "three"])
        parser.add_argument("--arch", default=defaults.arch)
        parser.add_argument("--img-size", type=int, default=None, help="default: the arch's")
        parser.add_argument("--epochs", type=int, default=defaults.epochs)
        parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
        parser.add_argument("--lr", type=float, default=defaults.lr)
        parser.add_argument("--balance", default=defaults.balance, choices=BALANCE_CHOICES)
        parser.add_argument("--max-per-class", type=int, default=defaults.max_per_class)
        parser.add_argument("--freeze-blocks", type=int, default=defaults.freeze_blocks)
        parser.add_argument("--patience", type=int, default=defaults.patience)
        parser.add_argument("--warmup-epochs", type=float, default=defaults.warmup_epochs)
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument(
            "--color-constancy",
            action=argparse.BooleanOptionalAction,
            default=False,
            help="Shades-of-Gray colour constancy before the other filters (default: off)",
        )
        parser.add_argument(
            "--device-shift",
            action=argparse.BooleanOptionalAction,
            default=False,
            help="augmentations imitating other clinics' dermatoscopes: white balance, gamma, "
            "blur, JPEG, down-scaling, stretch, vignetting, black corners, hair (default: off)",
        )
        parser.add_argument(
            "--filter-size",
            type=int,
            default=None,
            help="side (px) at which CLAHE and the bilateral filter run; default: input size",
        )
        parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
        parser.add_argument(
            "--max-images", type=int, default=None, help="cap per split (smoke tests)"
        )
        parser.add_argument("--no-pretrained", action="store_true", help="random init")
        parser.add_argument("--no-tta", action="store_true", help="evaluate without TTA")
        parser.add_argument("--out", default=None, help="artifact directory")
        parser.add_argument("--checkpoint-dir", default=None)
        parser.add_argument("--resume", default=None, help="checkpoint (last.pt) to resume")
        parser.add_argument(
            "--stop-after-epochs",
            type=int,
            default=None,
            help="end this session after N epochs (resume later); no artifact is written",
        )
        parser.add_argument(
            "--init-from",
            default=None,
            help="start from these weights (artifact dir or best.pt): a warm restart",
        )
        parser.add_argument("--from-db", action="store_true", help="add confirmed clinic images")
        parser.add_argument("--activate", action="store_true", help="serve it once registered")
        parser.add_argument("--no-register", action="store_true", help="skip the database")
        parser.add_argument("--name", default="", help="model version name")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        from training.pipeline import run_training

        try:
            config = TrainConfig(
                arch=options["arch"],
                labels=options["labels"],
                img_size=options["img_size"],
                epochs=options["epochs"],
                batch_size=options["batch_size"],
                lr=options["lr"],
                balance=options["balance"],
                max_per_class=options["max_per_class"],
                freeze_blocks=options["freeze_blocks"],
                patience=options["patience"],
                warmup_epochs=options["warmup_epochs"],
                seed=options["seed"],
                threads=options["threads"],
                max_images=options["max_images"],
                pretrained=not options["no_pretrained"],
                tta=not options["no_tta"],
                filter_size=options["filter_size"],
                device_shift=options["device_shift"],
                preprocessing=PreprocessConfig(
                    color_constancy=options["color_constancy"]
                ).to_dict(),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["activate"] and options["no_register"]:
            raise CommandError("--activate needs the model registered (drop --no-register)")
        if options["activate"] and options["from_db"]:
            # A model that learnt from clinic data is a candidate: it is served only after
            # its champion/challenger report (compare_models) and the activation guard.
            raise CommandError(
                "--from-db makes a candidate that is registered, not activated: run "
                "compare_models --candidate N, then activate it in the admin"
            )

        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        name = options["name"] or f"{config.arch}-{config.labels}-{stamp}"
        if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
            raise CommandError("--name may hold letters, digits, '.', '_' and '-' only")
        var_dir = Path(settings.VAR_DIR)
        out_dir = Path(options["out"]) if options["out"] else var_dir / "models" / name
        checkpoint_dir = (
            Path(options["checkpoint_dir"])
            if options["checkpoint_dir"]
            else var_dir / "training" / name
        )
        resume = Path(options["resume"]) if options["resume"] else None
        if resume is not None and not options["checkpoint_dir"]:
            checkpoint_dir = resume.parent  # keep best.pt beside the resumed last.pt

        extra = None
        if options["from_db"]:
            from training.db_samples import confirmed_samples

            extra = confirmed_samples(labels=config.labels, export_dir=var_dir / "db_images")
            self.stdout.write(f"added {len(extra.samples)} confirmed image(s) from the database")

        try:
            run = run_training(
                data_dir=Path(options["data"]),
                config=config,
                out_dir=out_dir,
                checkpoint_dir=checkpoint_dir,
                cache_dir=var_dir / "cache",
                resume=resume,
                stop_after=options["stop_after_epochs"],
                init_from=Path(options["init_from"]) if options["init_from"] else None,
                extra=extra,
                model_id=name,
                progress=not options["no_progress"],
                log=lambda message: self.stdout.write(message),
            )
        except (DataError, TrainingError, EngineError) as exc:
            raise CommandError(str(exc)) from None
        if run is None:
            return  # --stop-after-epochs: a checkpoint, no artifact yet

        summary = run.card.metrics.get("summary", {})
        self.stdout.write(
            self.style.SUCCESS(
                f"model {run.card.model_id} written to {run.artifact_dir}: "
                + ", ".join(f"{k} {v:.3f}" for k, v in summary.items() if isinstance(v, float))
            )
        )
        if options["no_register"]:
            return
        from classifier.services import activate_model_version, register_model_version

        version = register_model_version(artifact_dir=run.artifact_dir, name=name)
        self.stdout.write(f"registered as model version {version.number} ({version.name})")
        if options["from_db"]:
            self.stdout.write(
                f"candidate, not activated: compare it with the served model with "
                f"`manage.py compare_models --candidate {version.number} --data "
                f"{options['data']}` before activating it"
            )
        if options["activate"]:
            activate_model_version(version=version)
            self.stdout.write(self.style.SUCCESS(f"version {version.number} is now active"))
