"""python manage.py evaluate_model --data DIR [--split test] [--model PATH | --version N]."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from classifier.errors import EngineError
from classifier.labels import class_set_of
from training.data import DataError, load_dataset


class Command(BaseCommand):
    help = (
        "Score a model artifact exactly as it is served: the card's temperature, thresholds "
        "and not-assessable gate, 8 TTA views; nothing is fitted on the evaluated images. "
        "Reports classification metrics with lesion-grouped bootstrap 95 % intervals, the "
        "operating point's sensitivity/specificity, the risk policy's confusion and the "
        "not-assessable rate. A data set without a split column is evaluated whole."
    )

    def add_base_argument(self, parser, *args, **kwargs):
        if "--version" in args:
            return  # here --version N picks a registered model version, not Django's version
        super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--data", default=None, help="default: settings.DERMASCAN_DATA_DIR")
        parser.add_argument(
            "--split",
            default="test",
            choices=["test", "val", "all"],
            help="ignored when the data has no split column: then all of it is evaluated",
        )
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--model", default=None, help="artifact directory")
        source.add_argument("--version", type=int, default=None, help="registered version")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--report-dir", default=None, help="write the figures here")
        parser.add_argument("--no-tta", action="store_true")
        parser.add_argument(
            "--refit",
            action="store_true",
            help="also show what a temperature refitted on a disjoint part would give",
        )
        parser.add_argument("--bootstrap", type=int, default=1000, help="rounds (0: none)")
        parser.add_argument("--max-images", type=int, default=None, help="cap (smoke tests)")

    def handle(self, *args, **options):
        import numpy as np

        from classifier.predictor import Predictor
        from classifier.tta import VIEWS
        from training.evaluation import served_metrics
        from training.served import split_outputs

        directory = self._artifact_dir(options)
        quiet = options["json"]
        data_dir = Path(options["data"] or settings.DERMASCAN_DATA_DIR)
        try:
            predictor = Predictor.from_artifact(directory, backend="torch")
            card = predictor.card
            data = load_dataset(data_dir, labels=_class_set_name(card.classes))
            has_split = all(s.split for s in data.samples)
            split = options["split"] if has_split else "all"
            samples = data.in_split(split)
            if options["max_images"]:
                samples = samples[: options["max_images"]]
            if not samples:
                raise DataError(f"{data_dir}: the {split!r} split has no images")
            index = {code: i for i, code in enumerate(card.classes)}
            labels = np.array([index[s.label] for s in samples], dtype=np.int64)
            groups = np.array([s.group for s in samples])
            views = ("identity",) if options["no_tta"] else VIEWS
            cache_dir = Path(settings.VAR_DIR) / "cache"
            outputs = split_outputs(
                predictor, samples, views=views, cache_dir=cache_dir, progress=not quiet, desc=split
            )
            metrics = served_metrics(
                outputs,
                labels,
                groups,
                card=card,
                gate=predictor.gate,
                split=split,
                bootstrap_rounds=options["bootstrap"],
                report_dir=Path(options["report_dir"]) if options["report_dir"] else None,
            )
            if options["refit"]:
                metrics["refit"] = refit_report(
                    predictor, data, split, outputs, labels, groups, views, cache_dir, quiet
                )
        except (DataError, EngineError) as exc:
            raise CommandError(str(exc)) from None
        metrics["split_column"] = has_split
        if quiet:
            self.stdout.write(json.dumps(metrics, sort_keys=True))
            return
        self._print_summary(metrics, list(card.classes), card.model_id)

    def _artifact_dir(self, options) -> Path:
        from classifier.errors import ArtifactError
        from classifier.models import ModelVersion
        from classifier.registry import active_artifact_dir, version_directory

        if options["model"]:
            return Path(options["model"])
        try:
            if options["version"] is None:
                return active_artifact_dir()
            version = ModelVersion.objects.filter(number=options["version"]).first()
            if version is None:
                raise CommandError(f"no model version {options['version']} is registered")
            return version_directory(version)  # a stored version: fetched to this machine
        except ArtifactError as exc:
            raise CommandError(str(exc)) from None

    def _print_summary(self, metrics: dict, classes: list[str], model_id: str) -> None:
        mel = metrics.get("melanoma") or {}
        intervals = metrics.get("intervals_95") or {}
        point = metrics["operating_point"]
        out = self.stdout.write
        out(
            f"{model_id} on {metrics['split']} ({metrics['images']} images, "
            f"{metrics['lesions']} lesions, {metrics['tta_views']} TTA views), as served: "
            f"T = {metrics['temperature']:.3f}, t_mel = {point['t_mel']:.3f}, "
            f"t_mal = {point['t_mal']:.3f}"
        )
        rows = [
            ("accuracy", metrics.get("accuracy"), None),
            ("balanced accuracy", metrics.get("balanced_accuracy"), "balanced_accuracy"),
            ("macro F1", metrics.get("macro_f1"), None),
            ("melanoma AUC", mel.get("auc"), "melanoma_auc"),
            (
                "melanoma -> High: sensitivity",
                point["melanoma_high"]["sensitivity"],
                "melanoma_high_sensitivity",
            ),
            (
                "melanoma -> High: specificity",
                point["melanoma_high"]["specificity"],
                "melanoma_high_specificity",
            ),
            (
                "malignant -> Moderate+: sensitivity",
                point["malignant_moderate_or_high"]["sensitivity"],
                "malignant_moderate_or_high_sensitivity",
            ),
            (
                "malignant -> Moderate+: specificity",
                point["malignant_moderate_or_high"]["specificity"],
                "malignant_moderate_or_high_specificity",
            ),
            ("not assessable rate", metrics["not_assessable_rate"], None),
            ("ECE after temperature", metrics["ece_after_temperature"], None),
        ]
        for name, value, key in rows:
            interval = intervals.get(key) if key else None
            ci = f"  [{_fmt(interval[0])}, {_fmt(interval[1])}]" if interval else ""
            out(f"  {name:<38} {_fmt(value)}{ci}")
        out("  result states (risk policy):")
        for group, counts in metrics["policy_confusion"].items():
            cells = ", ".join(f"{k} {v}" for k, v in counts.items() if k != "total")
            out(f"    {group:<10} ({counts['total']}): {cells}")
        if "refit" in metrics:
            refit = metrics["refit"]
            out(
                f"  refit on {refit['fitted_on']}: T = {refit['temperature']:.3f}; on "
                f"{refit['evaluated_images']} images ECE {_fmt(refit['served']['ece'])} as "
                f"served vs {_fmt(refit['refitted']['ece'])} refitted"
            )
        out(f"  {'class':<8} {'prec':>6} {'recall':>6} {'F1':>6} {'AUC':>6} {'n':>5}")
        for code in classes:
            row = metrics["per_class"][code]
            out(
                f"  {code:<8} {_fmt(row['precision']):>6} {_fmt(row['recall']):>6} "
                f"{_fmt(row['f1']):>6} {_fmt(row['auc']):>6} {row['support']:>5}"
            )


def refit_report(predictor, data, split, outputs, labels, groups, views, cache_dir, quiet) -> dict:
    """What a temperature refitted on a part disjoint from the reported images would give.

    For the test split the refit uses val (disjoint by lesion); otherwise half of the
    target's lesions (seeded) are fitted on and only the other half is reported.
    """
    import numpy as np

    from classifier.calibration import combine_views, fit_temperature
    from training.metrics import balanced_accuracy, expected_calibration_error
    from training.served import split_outputs

    index = {code: i for i, code in enumerate(predictor.classes)}
    if split == "test":
        fit_samples = data.in_split("val")
        fit_outputs = split_outputs(
            predictor, fit_samples, views=views, cache_dir=cache_dir, progress=not quiet, desc="val"
        )
        fit_labels = np.array([index[s.label] for s in fit_samples], dtype=np.int64)
        evaluated = np.ones(len(labels), bool)
        fitted_on = f"the val split ({len(fit_samples)} images)"
    else:
        lesions = np.unique(groups)
        chosen = np.random.default_rng(0).permutation(lesions)[: len(lesions) // 2]
        fit_rows = np.isin(groups, chosen)
        fit_outputs, fit_labels = outputs.subset(fit_rows), labels[fit_rows]
        evaluated = ~fit_rows
        fitted_on = f"half of the lesions of {split!r} ({int(fit_rows.sum())} images)"
    temperature = fit_temperature(fit_outputs.logits, fit_labels)
    target, y = outputs.subset(evaluated), labels[evaluated]
    rows = np.arange(len(y))

    def scores(t: float) -> dict:
        probs = combine_views(target.logits, t)
        return {
            "temperature": t,
            "ece": expected_calibration_error(probs, y),
            "nll": float(-np.log(probs[rows, y] + 1e-12).mean()),
            "balanced_accuracy": balanced_accuracy(y, probs.argmax(axis=1)),
        }

    return {
        "fitted_on": fitted_on,
        "temperature": temperature,
        "evaluated_images": int(len(y)),
        "served": scores(float(predictor.temperature)),
        "refitted": scores(temperature),
    }


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _class_set_name(classes: list[str]) -> str:
    try:
        return class_set_of(classes)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
