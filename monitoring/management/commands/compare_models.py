"""python manage.py compare_models --candidate N [--data DIR] [--external DIR]."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from classifier.errors import EngineError
from training.data import DataError


class Command(BaseCommand):
    help = (
        "Compare a registered candidate version with the served model on the test split of "
        "--data, on an --external folder, and on each clinic's held-out confirmed cases; "
        "store the report with the candidate. Activation is refused while the report says "
        "the candidate is worse beyond the intervals (docs/monitoring.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--candidate", type=int, required=True, help="model version number")
        parser.add_argument("--data", default=None, help="default: settings.DERMASCAN_DATA_DIR")
        parser.add_argument("--external", default=None, metavar="DIR", help="other clinics' images")
        parser.add_argument("--no-clinics", action="store_true", help="skip the clinics' sets")
        parser.add_argument("--bootstrap", type=int, default=1000, help="rounds")
        parser.add_argument("--max-images", type=int, default=None, help="cap per set (smoke)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        from classifier.labels import class_set_of
        from classifier.models import ModelVersion
        from classifier.predictor import Predictor
        from classifier.registry import served_model, version_directory
        from monitoring.comparison import compare_models, external_set, held_out_test_set
        from monitoring.heldout import clinic_sets
        from monitoring.services import store_challenger_report

        version = ModelVersion.objects.filter(number=options["candidate"]).first()
        if version is None:
            raise CommandError(f"no model version {options['candidate']}")
        served = served_model()
        if served.version is not None and served.version.pk == version.pk:
            raise CommandError(f"{version} is the served model: nothing to compare it with")
        champion_label = str(served.version) if served.version else "the default model"
        var_dir = Path(settings.VAR_DIR)
        try:
            candidate = Predictor.from_artifact(version_directory(version), backend="torch")
            champion = Predictor.from_artifact(served.directory, backend="torch")
            classes = list(candidate.classes)
            if classes != list(champion.classes):
                raise CommandError("the candidate and the served model have different classes")
            cap = options["max_images"]
            data_dir = Path(options["data"] or settings.DERMASCAN_DATA_DIR)
            sets = [held_out_test_set(data_dir, classes, max_images=cap)]
            if options["external"]:
                sets.append(external_set(Path(options["external"]), max_images=cap))
            if not options["no_clinics"]:
                sets += clinic_sets(labels=class_set_of(classes), export_dir=var_dir / "db_images")
            report = compare_models(
                candidate,
                champion,
                sets,
                cache_dir=var_dir / "cache",
                rounds=options["bootstrap"],
                log=self.stdout.write,
            )
            stored = store_challenger_report(
                candidate=version, champion_label=champion_label, report=report
            )
        except (DataError, EngineError, ValidationError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=1))
        verdict = (
            f"worse on {'; '.join(stored.worse_on)}: activation refused unless overridden"
            if stored.worse_on
            else "not worse beyond the intervals anywhere measured"
        )
        self.stdout.write(self.style.SUCCESS(f"{version} vs {champion_label}: {verdict}"))
