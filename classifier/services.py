"""Writes to the model registry: register an artifact, activate a version."""

from __future__ import annotations

import math
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from classifier.artifact import WEIGHTS_FILE, read_card, sha256_of
from classifier.errors import ArtifactError
from classifier.models import ModelVersion


def _stored_path(directory: Path) -> str:
    """Inside the project: relative (the checkout can move); elsewhere: absolute."""
    directory = Path(directory).resolve()
    base = Path(settings.BASE_DIR).resolve()
    try:
        return str(directory.relative_to(base))
    except ValueError:
        return str(directory)


def _strict_json(value):
    """NaN/Infinity are not JSON (PostgreSQL's jsonb refuses them): store them as null."""
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def verify_artifact(directory: Path) -> dict:
    """card.json as a dict, after checking that the weights match its sha256."""
    try:
        card = read_card(Path(directory))
    except ArtifactError as exc:
        raise ValidationError(str(exc)) from None
    weights = Path(directory) / WEIGHTS_FILE
    if not weights.is_file():
        raise ValidationError(f"model artifact {directory} has no {WEIGHTS_FILE}")
    if sha256_of(weights) != card.weights_sha256:
        raise ValidationError(f"{weights} does not match the sha256 recorded in its card")
    return card.to_dict()


def register_model_version(
    *, artifact_dir: Path, name: str = "", activate: bool = False, activated_by=None
) -> ModelVersion:
    """Record an artifact as the next version number; optionally make it the active one."""
    card = verify_artifact(artifact_dir)
    name = name or card.get("model_id") or Path(artifact_dir).name
    for _attempt in range(3):  # two registrations at once: the loser takes the next number
        try:
            with transaction.atomic():
                number = (ModelVersion.objects.aggregate(top=Max("number"))["top"] or 0) + 1
                version = ModelVersion(
                    number=number,
                    name=name,
                    artifact_path=_stored_path(artifact_dir),
                    arch=card["arch"],
                    classes=list(card["classes"]),
                    metrics=_strict_json(card.get("metrics") or {}),
                    card=_strict_json(card),
                    sha256=card["weights_sha256"],
                )
                version.full_clean()
                version.save()
            break
        except IntegrityError:
            if ModelVersion.objects.filter(name=name).exists():
                raise ValidationError({"name": f"a model version named {name!r} exists"}) from None
    else:
        raise ValidationError("could not allocate a version number; try again")
    if activate:
        version = activate_model_version(version=version, activated_by=activated_by)
    return version


def activate_model_version(*, version: ModelVersion, activated_by=None) -> ModelVersion:
    """Make ``version`` the one the workers serve; every other version is deactivated.

    The rows are locked so that two activations at once serialise and exactly one
    version ends up active. The artifact is verified first: activating a version
    whose files are gone or altered would break every analysis after it.
    """
    verify_artifact(version.directory)
    with transaction.atomic():
        locked = list(ModelVersion.objects.select_for_update().order_by("pk"))
        target = next((v for v in locked if v.pk == version.pk), None)
        if target is None:
            raise ValidationError(f"model version {version.pk} no longer exists")
        for other in locked:
            if other.is_active and other.pk != target.pk:
                other.is_active = False
                other.save(update_fields=["is_active"])
        target.is_active = True
        target.activated_at = timezone.now()
        target.activated_by = activated_by
        target.full_clean()
        target.save(update_fields=["is_active", "activated_at", "activated_by"])
    return target


def deactivate_model_versions() -> int:
    """No version active: the workers fall back to the default model. Returns how many changed."""
    with transaction.atomic():
        return (
            ModelVersion.objects.select_for_update().filter(is_active=True).update(is_active=False)
        )
