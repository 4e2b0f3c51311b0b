"""python manage.py evaluate_model --data DIR [--split test] [--model PATH | --version N].

``--segmentation`` scores the lesion segmenter on ``--data``'s masks instead (see
``training.segmentation.evaluate``). ``--external DIR`` scores a folder of images from other
clinics as melanoma vs nevus instead,
through the workers' backend; ``--compare-domains`` adds how its images differ from
``--data``'s ``--split``; ``--write-card`` stores both in the card.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from classifier.errors import EngineError
from classifier.labels import class_set_of
from training.data import DataError, load_dataset, portable_path


class Command(BaseCommand):
    help = (
        "Score a model artifact exactly as it is served: the card's temperature, thresholds "
        "and not-assessable gate, 8 TTA views; nothing is fitted on the evaluated images. "
        "Reports classification metrics with lesion-grouped bootstrap 95 % intervals, the "
        "operating point's sensitivity/specificity, the risk policy's confusion and the "
        "not-assessable rate. A data set without a split column is evaluated whole. "
        "--external DIR scores images from other clinics (labels.csv + images/) as melanoma "
        "vs nevus through the workers' backend, with image-level bootstrap intervals."
    )

    def add_base_argument(self, parser, *args, **kwargs):
        if "--version" in args:
            return  # here --version N picks a registered model version, not Django's version
        super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser):
        from classifier.predictor import BACKENDS

        parser.add_argument("--data", default=None, help="default: settings.DERMASCAN_DATA_DIR")
        parser.add_argument(
            "--split",
            default="test",
            choices=["test", "val", "train", "all"],
            help="ignored when the data has no split column: then all of it is evaluated "
            "(train: with --segmentation only)",
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
        parser.add_argument(
            "--external",
            default=None,
            metavar="DIR",
            help="score images from other clinics instead: DIR/labels.csv (image_id,dx with dx "
            "mel or nv) and DIR/images/<image_id>.jpg, as melanoma vs nevus; fits nothing",
        )
        parser.add_argument(
            "--compare-domains",
            action="store_true",
            help="with --external: how its images differ from --data's --split (colour, "
            "brightness, sharpness, dark corners, lesion size, case mix, gate distance)",
        )
        parser.add_argument(
            "--write-card",
            action="store_true",
            help="with --external: store the figures in card.json (metrics.external, "
            "metrics.domain_comparison), re-render card.md, draw the figure into the artifact",
        )
        parser.add_argument(
            "--segmentation",
            action="store_true",
            help="score the lesion segmenter (--model DIR, default the committed one) on "
            "DIR/masks: Dice and Jaccard overall and per class, lesion-grouped intervals",
        )
        parser.add_argument(
            "--backend",
            default=None,
            choices=BACKENDS,
            help="default: the workers' (DERMASCAN_INFERENCE_BACKEND) with --external, torch "
            "otherwise",
        )

    def handle(self, *args, **options):
        import numpy as np

        from classifier.predictor import Predictor
        from training.evaluation import served_metrics
        from training.served import split_outputs

        if options["segmentation"]:
            return self._handle_segmentation(options)
        if options["split"] == "train":
            raise CommandError("--split train is for --segmentation only")
        if options["external"]:
            return self._handle_external(options)
        for flag in ("compare_domains", "write_card"):
            if options[flag]:
                raise CommandError(f"--{flag.replace('_', '-')} goes with --external")
        directory = self._artifact_dir(options)
        quiet = options["json"]
        data_dir = Path(options["data"] or settings.DERMASCAN_DATA_DIR)
        try:
            predictor = Predictor.from_artifact(directory, backend=options["backend"] or "torch")
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
            views = ("identity",) if options["no_tta"] else card.served_views
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

    def _handle_segmentation(self, options) -> None:
        """A separate path: the segmenter has its own artifact and no registry entry yet."""
        from classifier.segmentation.runtime import DEFAULT_SEGMENTER
        from training.segmentation.evaluate import evaluate_segmenter

        try:
            report = evaluate_segmenter(
                options["model"] or DEFAULT_SEGMENTER,
                Path(options["data"] or settings.DERMASCAN_DATA_DIR),
                split=options["split"],
                bootstrap_rounds=options["bootstrap"],
                limit=options["max_images"],
            )
        except (DataError, EngineError) as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(report, sort_keys=True))
            return
        ci = report.get("intervals_95") or {}
        self.stdout.write(
            f"segmenter on {report['split']} ({report['images']} images, {report['precision']}): "
            f"Dice {report['dice']:.3f} {ci.get('dice')}, Jaccard {report['jaccard']:.3f} "
            f"{ci.get('jaccard')}"
        )
        for code, row in report["per_class"].items():
            self.stdout.write(
                f"  {code:<6} {row['images']:>5}  Dice {row['dice']:.3f}  "
                f"Jaccard {row['jaccard']:.3f}"
            )

    def _handle_external(self, options) -> None:
        from classifier.artifact import read_card
        from classifier.predictor import Predictor
        from training.domain import FIGURE_FILE, domain_report
        from training.external import (
            external_report,
            load_external,
            write_to_card,
        )
        from training.served import split_outputs

        if options["refit"]:
            raise CommandError("--external is for evaluation only: --refit would fit on it")
        directory = self._artifact_dir(options)
        if options["write_card"]:
            if options["max_images"]:
                raise CommandError("--write-card records whole folders: drop --max-images")
            self._refuse_stored_version(options)
        quiet = options["json"]
        views = ("identity",) if options["no_tta"] else read_card(directory).served_views
        cache_dir = Path(settings.VAR_DIR) / "cache"
        backend = options["backend"] or settings.DERMASCAN_INFERENCE_BACKEND
        try:
            external = load_external(Path(options["external"]))
            if options["max_images"]:
                external = replace(external, samples=external.samples[: options["max_images"]])
            # As a worker loads it: same backend (int8 where the card serves it), same threads.
            predictor = Predictor.from_artifact(
                directory, backend=backend, threads=settings.DERMASCAN_INFERENCE_THREADS or None
            )
            outputs = split_outputs(
                predictor,
                external.samples,
                views=views,
                cache_dir=cache_dir,
                progress=not quiet,
                desc=external.name,
            )
            report = external_report(
                predictor, external, outputs, bootstrap_rounds=options["bootstrap"]
            )
            if options["compare_domains"]:
                data_dir = Path(options["data"] or settings.DERMASCAN_DATA_DIR)
                # ham7 labels whatever the model's class set: the case mix is the data's own
                reference = load_dataset(data_dir, labels="ham7")
                split = options["split"] if all(s.split for s in reference.samples) else "all"
                figure_dir = directory if options["write_card"] else options["report_dir"]
                report["domain_comparison"] = domain_report(
                    predictor,
                    reference.in_split(split)[: options["max_images"] or None],
                    external,
                    outputs,
                    reference_name=f"{data_dir.resolve().name} {split}",
                    views=views,
                    cache_dir=cache_dir,
                    figure_path=Path(figure_dir) / FIGURE_FILE if figure_dir else None,
                    bootstrap_rounds=options["bootstrap"],
                    progress=not quiet,
                )
        except (DataError, EngineError) as exc:
            raise CommandError(str(exc)) from None
        report["measured_at"] = date.today().isoformat()
        report["command"] = _external_command(options, report)
        if options["write_card"]:
            try:
                write_to_card(directory, report)
            except EngineError as exc:
                raise CommandError(str(exc)) from None
        if quiet:
            self.stdout.write(json.dumps(report, sort_keys=True))
            return
        self._print_external(report)

    def _refuse_stored_version(self, options) -> None:
        """A stored version does not change once registered (every machine serves its files)."""
        from classifier.models import ModelVersion
        from classifier.registry import active_model_version

        if options["model"]:
            return
        version = (
            ModelVersion.objects.filter(number=options["version"]).first()
            if options["version"] is not None
            else active_model_version()
        )
        if version is not None and version.is_stored:
            raise CommandError(
                f"model version {version.number} is kept in the model store and does not "
                "change once registered: --write-card needs --model DIR (an artifact folder)"
            )

    def _print_external(self, report: dict) -> None:
        from training.card import EXTERNAL_ROWS

        out = self.stdout.write
        intervals = report.get("intervals_95") or {}
        out(
            f"{report['model_id']} ({report['backend']}, {report['tta_views']} TTA views) on "
            f"{report['external']}: {report['images']} images, {report['melanomas']} melanomas, "
            f"{report['nevi']} nevi; melanoma vs nevus, as served, nothing fitted"
        )
        for key, name in EXTERNAL_ROWS:
            interval = intervals.get(key)
            ci = f"  [{_fmt(interval[0])}, {_fmt(interval[1])}]" if interval else ""
            out(f"  {name:<50} {_fmt(report.get(key))}{ci}")
        domain = report.get("domain_comparison")
        if domain:
            out(f"  domain comparison with {domain['reference']} (mel+nv), largest shifts (KS):")
            figures = {row["key"]: row for row in domain["figures"]}
            for key in domain["largest_shifts"]:
                row = figures[key]
                out(
                    f"    {row['label']:<40} {_fmt(row['reference_mel_nv'].get('mean'))} -> "
                    f"{_fmt(row['external'].get('mean'))}  KS {_fmt(row['ks'])}"
                )

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


def _external_command(options: dict, report: dict) -> str:
    """The command line that reproduces the report (paths as the report names them)."""
    parts = ["python manage.py evaluate_model", f"--external {report['source']}"]
    if options["compare_domains"]:
        data = Path(options["data"] or settings.DERMASCAN_DATA_DIR)
        parts += [
            "--compare-domains",
            f"--data {portable_path(data)}",
            f"--split {options['split']}",
        ]
    if options["model"]:
        parts.append(f"--model {portable_path(options['model'])}")
    elif options["version"] is not None:
        parts.append(f"--version {options['version']}")
    if options["backend"]:
        parts.append(f"--backend {options['backend']}")
    if options["no_tta"]:
        parts.append("--no-tta")
    if options["bootstrap"] != 1000:
        parts.append(f"--bootstrap {options['bootstrap']}")
    if options["max_images"]:
        parts.append(f"--max-images {options['max_images']}")
    return " ".join(parts)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _class_set_name(classes: list[str]) -> str:
    try:
        return class_set_of(classes)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
