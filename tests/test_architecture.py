"""The import rules of docs/architecture.md, checked on every module's source (no imports run).

Arrows point one way: ``monitoring -> lesions -> classifier``, ``interop -> lesions``,
``training -> classifier``. The engine's pure modules (classifier/ minus its Django layer)
import no Django, so the model runs in a plain Python process. No app reaches up into the
project package ``dermascan_site`` (settings come through ``django.conf.settings``). Tests
are exempt: they may drive the whole site.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Which first-party top-level packages each app may import.
ALLOWED = {
    "classifier": set(),
    "lesions": {"classifier"},
    "training": {"classifier"},
    "monitoring": {"lesions", "classifier", "training"},
    "interop": {"lesions", "classifier"},
}
FIRST_PARTY = set(ALLOWED) | {"dermascan_site"}

# The engine's Django layer; every other module of classifier/ is pure.
CLASSIFIER_DJANGO = {
    "classifier.admin",
    "classifier.apps",
    "classifier.artifact_store",
    "classifier.models",
    "classifier.registry",
    "classifier.selectors",
    "classifier.services",
    "classifier.urls",
    "classifier.views",
}
CLASSIFIER_DJANGO_PACKAGES = (
    "classifier.management",
    "classifier.migrations",
    "classifier.templatetags",
)
FRAMEWORKS = {"django", "rest_framework", "celery", "knox", "drf_spectacular", "django_filters"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module ``source`` imports, absolute, including function-level imports."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                prefix = ".".join(parts[: len(parts) - node.level + 1])
                target = ".".join(p for p in (prefix, node.module) if p)
            else:
                target = node.module or ""
            found.add(target)
            # "from lesions import selectors" imports lesions.selectors
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def is_pure_engine(module: str) -> bool:
    return (
        module.startswith("classifier.")
        and module not in CLASSIFIER_DJANGO
        and not module.startswith(CLASSIFIER_DJANGO_PACKAGES)
    )


def violations(module: str, imports: set[str]) -> list[str]:
    app = module.split(".")[0]
    problems = []
    for target in sorted(imports):
        top = target.split(".")[0]
        settings = target == "dermascan_site.settings" or target.startswith(
            "dermascan_site.settings."
        )
        if top in FIRST_PARTY and top != app and top not in ALLOWED[app] and not settings:
            problems.append(f"{module} imports {target}")
        if is_pure_engine(module) and (top in FRAMEWORKS or target in CLASSIFIER_DJANGO):
            problems.append(f"{module} (pure engine) imports {target}")
    return problems


def app_modules() -> list[Path]:
    paths = []
    for app in ALLOWED:
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT).parts
            if "tests" not in rel and "migrations" not in rel:
                paths.append(path)
    return paths


def test_every_app_module_follows_the_import_rules():
    problems = []
    for path in app_modules():
        module = module_name(path)
        imports = imported_modules(path.read_text(), module, is_package=path.name == "__init__.py")
        problems += violations(module, imports)
    assert not problems, "\n".join(problems)


def test_the_checked_modules_include_every_app():
    checked = {module_name(path).split(".")[0] for path in app_modules()}
    assert checked == set(ALLOWED)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("classifier.predictor", "from lesions.models import Analysis", "imports lesions.models"),
        ("classifier.gate", "def f():\n    import django", "(pure engine) imports django"),
        ("classifier.cam", "from classifier import services", "imports classifier.services"),
        ("lesions.pipeline.dispatch", "from dermascan_site.celery import app", "dermascan_site"),
        ("lesions.views.pages", "from monitoring import selectors", "imports monitoring"),
        ("interop.fhir", "from monitoring.models import Alert", "imports monitoring.models"),
        ("training.loop", "from ..lesions import models", "imports lesions"),
    ],
)
def test_a_forbidden_import_is_reported(module, source, expected):
    found = violations(module, imported_modules(source, module))
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("lesions.services.images", "from classifier.labels import HAM7"),
        ("lesions.admin.records", "from . import scoping"),
        ("monitoring.views", "from lesions import selectors"),
        ("classifier.services", "from django.db import transaction"),
        ("lesions.forms", "from dermascan_site.settings import DEBUG"),
    ],
)
def test_an_allowed_import_passes(module, source):
    assert violations(module, imported_modules(source, module)) == []
