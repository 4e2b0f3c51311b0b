"""python manage.py evaluate_model --data DIR [--split test] [--model PATH | --version N]."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from classifier.artifact import load_artifact
from classifier.errors import EngineError
from classifier.labels import CLASS_SETS
from training.data import DataError, load_dataset
from training.splits import ensure_split


class Command(BaseCommand):
    help = (
        "Score a model artifact on a labelled data directory with TTA: accuracy, balanced "
        "accuracy, per-class precision/recall/F1/AUC, melanoma operating points, calibration "
        "before/after temperature scaling fitted on val; figures into --report-dir."
    )

    def add_base_argument(self, parser, *args, **kwargs):
        if "--version" in args:
            return  # here --version N picks a registered model version, not Django's version
        super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--data", default=None, help="default: settings.DERMASCAN_DATA_DIR")
        parser.add_argument("--split", default="test", choices=["test", "val", "all"])
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--model", default=None, help="artifact directory")
        source.add_argument("--version", type=int, default=None, help="registered version")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--report-dir", default=None, help="write the figures here")
        parser.add_argument("--no-tta", action="store_true")
        parser.add_argument("--seed", type=int, default=0, help="split seed when none is given")
        parser.add_argument("--max-images", type=int, default=None, help="cap per split")

    def handle(self, *args, **options):
        from training.evaluation import evaluate
        from training.loop import select_device
        from training.pipeline import _cap_per_split

        directory = self._artifact_dir(options)
        quiet = options["json"]
        log = (lambda m: print(m, file=sys.stderr)) if quiet else self.stdout.write
        data_dir = Path(options["data"] or settings.DERMASCAN_DATA_DIR)
        try:
            model, card = load_artifact(directory)
            labels = _class_set_name(card.classes)
            data = ensure_split(load_dataset(data_dir, labels=labels), seed=options["seed"])
            if options["max_images"]:
                from dataclasses import replace

                data = replace(data, samples=_cap_per_split(data, options["max_images"]))
            device = select_device()
            metrics = evaluate(
                model.to(device),
                data=data,
                split=options["split"],
                classes=list(card.classes),
                preprocessing=card.preprocess_config,
                data_config=card.data_config,
                device=device,
                tta=not options["no_tta"],
                cache_dir=Path(settings.VAR_DIR) / "cache",
                report_dir=Path(options["report_dir"]) if options["report_dir"] else None,
                progress=not quiet,
                log=log,
            )
        except (DataError, EngineError) as exc:
            raise CommandError(str(exc)) from None
        metrics["model_id"] = card.model_id
        metrics["served_temperature"] = card.temperature
        metrics["data"] = str(data_dir)
        if quiet:
            self.stdout.write(json.dumps(metrics, sort_keys=True))
            return
        self._print_summary(metrics, list(card.classes))

    def _artifact_dir(self, options) -> Path:
        if options["version"] is not None:
            from classifier.models import ModelVersion

            version = ModelVersion.objects.filter(number=options["version"]).first()
            if version is None:
                raise CommandError(f"no model version {options['version']} is registered")
            return version.directory
        if options["model"]:
            return Path(options["model"])
        from classifier.registry import active_artifact_dir

        return active_artifact_dir()

    def _print_summary(self, metrics: dict, classes: list[str]) -> None:
        mel = metrics.get("melanoma") or {}
        out = self.stdout.write
        out(
            f"{metrics['model_id']} on {metrics['split']} ({metrics['images']} images, "
            f"{metrics['tta_views']} TTA views)"
        )
        for key in ("accuracy", "balanced_accuracy", "macro_f1", "macro_auc"):
            out(f"  {key:<34} {_fmt(metrics.get(key))}")
        out(f"  {'melanoma AUC':<34} {_fmt(mel.get('auc'))}")
        out(
            f"  {'melanoma sens. at spec. >= 0.80':<34} "
            f"{_fmt(mel.get('sensitivity_at_specificity_80'))}"
        )
        out(
            f"  {'melanoma spec. at sens. >= 0.90':<34} "
            f"{_fmt(mel.get('specificity_at_sensitivity_90'))}"
        )
        out(
            f"  {'ECE before / after temperature':<34} "
            f"{_fmt(metrics['ece_before_temperature'])} / {_fmt(metrics['ece_after_temperature'])}"
            f" (T = {metrics['temperature']:.3f}, fitted on {metrics['temperature_fitted_on']})"
        )
        out(f"  {'class':<8} {'prec':>6} {'recall':>6} {'F1':>6} {'AUC':>6} {'n':>5}")
        for code in classes:
            row = metrics["per_class"][code]
            out(
                f"  {code:<8} {_fmt(row['precision']):>6} {_fmt(row['recall']):>6} "
                f"{_fmt(row['f1']):>6} {_fmt(row['auc']):>6} {row['support']:>5}"
            )


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _class_set_name(classes: list[str]) -> str:
    for name, codes in CLASS_SETS.items():
        if list(codes) == list(classes):
            return name
    raise CommandError(
        f"the model's classes {classes} are none of the known class sets "
        f"({', '.join(CLASS_SETS)}); cannot map the data's labels onto them"
    )
