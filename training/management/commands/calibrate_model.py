"""python manage.py calibrate_model --data DIR [--model PATH]: refit serving settings only."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from classifier.errors import EngineError
from training.data import DataError, load_dataset


class Command(BaseCommand):
    help = (
        "Refit an existing artifact's temperature, operating point (t_mel, t_mal for target "
        "sensitivities on val) and not-assessable gate (feature statistics from train, "
        "threshold on val) without retraining; score test and the non-lesion corpus as "
        "served; rewrite card.json, card.md and gate.npz. The weights are not touched."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="labelled data with train/val/test")
        parser.add_argument("--model", default=None, help="artifact directory (default: served)")
        parser.add_argument("--melanoma-sensitivity", type=float, default=0.80)
        parser.add_argument("--malignant-sensitivity", type=float, default=0.95)
        parser.add_argument(
            "--reject-share", type=float, default=0.02, help="share of val the gate rejects"
        )
        parser.add_argument("--figures", action="store_true", help="redraw the test figures")
        parser.add_argument(
            "--record-distances",
            action="store_true",
            help="only add the val gate-distance quantiles (for monitoring) to the card; "
            "refit nothing",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        from classifier.labels import class_set_of
        from training.calibrate import CalibrationTargets, calibrate_artifact
        from training.splits import ensure_split

        for name in ("melanoma_sensitivity", "malignant_sensitivity"):
            if not 0 < options[name] <= 1:
                raise CommandError(f"--{name.replace('_', '-')} must be in (0, 1]")
        if not 0 <= options["reject_share"] < 0.5:
            raise CommandError("--reject-share must be in [0, 0.5)")
        directory = Path(options["model"]) if options["model"] else self._served_directory()
        try:
            from classifier.artifact import read_card

            card = read_card(directory)
            try:
                labels = class_set_of(card.classes)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            data = ensure_split(load_dataset(Path(options["data"]), labels=labels))
            if options["record_distances"]:
                from training.calibrate import record_val_distances

                card = record_val_distances(
                    directory,
                    data=data,
                    cache_dir=Path(settings.VAR_DIR) / "cache",
                    progress=not options["no_progress"],
                )
                self.stdout.write(
                    self.style.SUCCESS(f"{card.model_id}: val gate-distance quantiles recorded")
                )
                return
            card = calibrate_artifact(
                directory,
                data=data,
                targets=CalibrationTargets(
                    melanoma_sensitivity=options["melanoma_sensitivity"],
                    malignant_sensitivity=options["malignant_sensitivity"],
                    reject_share=options["reject_share"],
                ),
                cache_dir=Path(settings.VAR_DIR) / "cache",
                figures=options["figures"],
                progress=not options["no_progress"],
                log=self.stdout.write,
            )
        except (DataError, EngineError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        point, gate = card.operating_point, card.gate
        self.stdout.write(
            self.style.SUCCESS(
                f"{card.model_id} calibrated: T {card.temperature:.3f}, t_mel "
                f"{point['t_mel']:.3f}, t_mal {point['t_mal']:.3f}; gate rejects "
                f"{gate['val_not_assessable_rate']:.1%} of val, "
                f"{gate.get('test_not_assessable_rate', float('nan')):.1%} of test, "
                f"{gate['corpus_not_assessable_rate']:.1%} of the non-lesion corpus"
            )
        )

    def _served_directory(self) -> Path:
        from classifier.registry import active_artifact_dir, active_model_version

        version = active_model_version()
        if version is not None and version.is_stored:
            # Every machine serves the files in the model store; changing one local copy
            # would change nothing there (and the copy would be replaced as damaged).
            raise CommandError(
                f"the active model version {version.number} is kept in the model store and "
                "does not change once registered: calibrate a copy of its artifact "
                f"(--model DIR, e.g. a copy of {version.directory}) and register that copy as "
                "a new version (classifier.services.register_model_version)"
            )
        return active_artifact_dir()
